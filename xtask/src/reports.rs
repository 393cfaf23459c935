//! `cargo xtask reports`: the example reports under `reports/examples/<story>/`
//! (`report.html`, `summary.md`, `junit.xml`), regenerated from the shipped
//! seed stories. `--check` regenerates them elsewhere and fails when they
//! differ from the committed ones (they hold no wall-clock figure, so any
//! difference is a change of behaviour or of the reports, or a machine that
//! does not reproduce the run). `--browser` also renders each page in headless
//! Chromium and checks, from the rendered DOM and from the screenshot, that
//! every chart is drawn with data.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The stories whose reports are committed: one of each kind of system.
pub const STORIES: [&str; 4] = [
    "replication-r6-replica-down-and-back",
    "sentinel-s3-master-failover",
    "sentinel-split-brain-lost-writes",
    "cluster-c3-failover-and-return",
];

/// The committed documents of each story (`lanes.svg` is the page's first
/// chart alone, for the README).
const FILES: [&str; 4] = ["report.html", "summary.md", "junit.xml", "lanes.svg"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

fn registry() -> scenario::Registry {
    let mut registry = scenario::Registry::new();
    registry.register(Box::new(redis_lab::RedisKind));
    registry.register(Box::new(sentinel_lab::SentinelKind));
    registry
}

/// A file `include:`d or `extends:`ed by a shipped scenario, relative to the
/// file that names it (paths relative to the workspace root).
fn load_included(from: &str, name: &str) -> Result<(String, Vec<u8>), String> {
    let dir = Path::new(from).parent().unwrap_or(Path::new(""));
    let path = dir.join(name);
    let bytes = std::fs::read(root().join(&path)).map_err(|e| e.to_string())?;
    Ok((path.display().to_string(), bytes))
}

/// Parses a shipped scenario (`file` relative to the workspace root), its
/// includes read from the workspace.
pub(crate) fn parse_shipped(
    file: &str,
    source: &str,
    registry: &scenario::Registry,
) -> Result<scenario::Scenario, String> {
    compose_shipped(file, source)?.scenario(registry).map_err(|r| r.render(file))
}

/// [`parse_shipped`]'s first half: the file composed (its includes loaded).
pub(crate) fn compose_shipped(file: &str, source: &str) -> Result<scenario::parse::Composed, String> {
    let options = scenario::compose::ComposeOptions { loader: Some(&load_included), ..Default::default() };
    scenario::parse::compose_scenario(file, source.as_bytes().to_vec(), &options).map_err(|r| r.render(file))
}

/// Runs `story` with its own seed and writes its report files into `dir`.
fn generate(story: &str, dir: &Path) -> Result<(), String> {
    let file = format!("scenarios/{story}.yaml");
    let source = std::fs::read_to_string(root().join(&file)).map_err(|e| format!("{file}: {e}"))?;
    let registry = registry();
    let parsed = parse_shipped(&file, &source, &registry)?;
    let reproduce = format!("chaoslab run {file} --seed {}", parsed.seed);
    let (report, sim) = scenario::run(parsed, None, &registry, reproduce);
    // The directory is this tool's own (under reports/examples or target/).
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    report::prepare_dir(dir).map_err(|e| e.to_string())?;
    report::write_run(dir, &report, &sim).map_err(|e| format!("{}: {e}", dir.display()))?;
    report::write_documents(dir, &report, report::Documents::ALL).map_err(|e| format!("{}: {e}", dir.display()))?;
    let html = std::fs::read_to_string(dir.join("report.html")).map_err(|e| e.to_string())?;
    let lanes = html
        .find("<figure id=\"lanes\"")
        .and_then(|at| Some(&html[at + html[at..].find("<svg")?..at + html[at..].find("</svg>")? + 6]))
        .ok_or("the page has no lanes chart")?;
    std::fs::write(dir.join("lanes.svg"), lanes).map_err(|e| e.to_string())?;
    // Only the documents are committed: the trace and logs are large and the
    // report.json holds the run's wall time.
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        let keep = path.file_name().is_some_and(|n| FILES.iter().any(|f| n == *f));
        if !keep {
            if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) }
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Options of `cargo xtask reports`.
#[derive(Default)]
pub struct Options {
    /// Compare with the committed reports instead of replacing them.
    pub check: bool,
    /// Render each page in headless Chromium and check its charts.
    pub browser: bool,
}

/// Regenerates (or checks) every story's reports; Ok(false) when a check failed.
pub fn run(opts: &Options) -> Result<bool, String> {
    let committed = root().join("reports/examples");
    let out = if opts.check { root().join("target/reports-check") } else { committed.clone() };
    let mut ok = true;
    for story in STORIES {
        let dir = out.join(story);
        generate(story, &dir)?;
        if opts.check {
            for f in FILES {
                let (new, old) = (std::fs::read(dir.join(f)), std::fs::read(committed.join(story).join(f)));
                match (new, old) {
                    (Ok(a), Ok(b)) if a == b => {}
                    (Ok(_), Ok(_)) => {
                        println!("{story}/{f}: differs from the committed one (cargo xtask reports rewrites it)");
                        ok = false;
                    }
                    (_, Err(e)) => {
                        println!("{story}/{f}: no committed file ({e}); run cargo xtask reports");
                        ok = false;
                    }
                    (Err(e), _) => return Err(format!("{story}/{f}: {e}")),
                }
            }
        }
        if opts.browser {
            ok &= in_browser(&dir.join("report.html"))?;
        }
        println!("{story}: {}", dir.display());
    }
    Ok(ok)
}

/// Headless Chromium, by the names Debian and others give it.
fn chromium() -> Result<PathBuf, String> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output()
            && out.status.success()
        {
            return Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    Err("no chromium on PATH (apt-get install chromium)".to_owned())
}

/// Renders `page` and checks each chart: in the rendered DOM, every chart
/// figure holds an SVG with drawn shapes; in the screenshot, the page is not
/// blank where the charts are.
fn in_browser(page: &Path) -> Result<bool, String> {
    let chromium = chromium()?;
    let url = format!("file://{}", page.canonicalize().map_err(|e| e.to_string())?.display());
    let common = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,1800"];
    let dom = Command::new(&chromium)
        .args(common)
        .args(["--dump-dom", &url])
        .output()
        .map_err(|e| format!("{}: {e}", chromium.display()))?;
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    let mut ok = true;
    let figures: Vec<&str> = dom.split("<figure").skip(1).collect();
    if figures.is_empty() {
        println!("{}: the rendered page has no chart", page.display());
        ok = false;
    }
    for fig in &figures {
        let id = fig.split('"').nth(1).unwrap_or("?");
        let body = &fig[..fig.find("</figure>").unwrap_or(fig.len())];
        let shapes = body.matches("<rect").count() + body.matches("<polyline").count();
        // The frame and the background are rects too: data means more than a few.
        if !body.contains("<svg") || shapes < 4 {
            println!("{}: chart `{id}` is drawn without data ({shapes} shapes)", page.display());
            ok = false;
        }
    }
    // Each chart alone in a page of its own, screenshotted: an empty frame is
    // black, white and grey; data is coloured.
    for (k, fig) in figures.iter().enumerate() {
        let id = fig.split('"').nth(1).unwrap_or("?");
        let body = &fig[..fig.find("</figure>").unwrap_or(fig.len())];
        let Some(svg) = body.find("<svg").map(|at| &body[at..]) else { continue };
        let coloured = screenshot_colour(&chromium, svg, k)?;
        // One data line is about 0.2 % of the shot; a legend alone is under 0.01 %.
        if coloured < 0.0005 {
            println!(
                "{}: chart `{id}` is {:.2} % coloured on screen: drawn without data",
                page.display(),
                coloured * 100.0
            );
            ok = false;
        }
        println!("{}: chart `{id}` drawn, {:.1} % of it coloured", page.display(), coloured * 100.0);
    }
    Ok(ok)
}

/// Renders one SVG alone in headless Chromium; the coloured share of the shot.
fn screenshot_colour(chromium: &Path, svg: &str, k: usize) -> Result<f64, String> {
    let tmp = std::env::temp_dir().join(format!("chaoslab-chart-{}-{k}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let html = tmp.join("chart.html");
    let shot = tmp.join("chart.png");
    std::fs::write(&html, format!("<!DOCTYPE html><html><body style=\"margin:0\">{svg}</body></html>"))
        .map_err(|e| e.to_string())?;
    let out = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1120,1000"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err("chromium could not take a screenshot".to_owned());
    }
    let coloured = coloured_fraction(&shot);
    let _ = std::fs::remove_dir_all(&tmp);
    coloured
}

/// The share of a PNG's pixels that are neither white nor grey.
fn coloured_fraction(png: &Path) -> Result<f64, String> {
    let file = std::fs::File::open(png).map_err(|e| format!("{}: {e}", png.display()))?;
    let mut reader = png::Decoder::new(std::io::BufReader::new(file)).read_info().map_err(|e| e.to_string())?;
    let mut buf = vec![0; reader.output_buffer_size().ok_or("a screenshot too large to decode")?];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    let channels = info.color_type.samples();
    if channels < 3 {
        return Err(format!("unexpected screenshot format {:?}", info.color_type));
    }
    let pixels = buf[..info.buffer_size()].chunks(channels);
    let (mut all, mut coloured) = (0u64, 0u64);
    for p in pixels {
        all += 1;
        let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
        if (r - g).abs().max((g - b).abs()).max((r - b).abs()) > 40 {
            coloured += 1;
        }
    }
    Ok(coloured as f64 / all.max(1) as f64)
}
