//! Tests of the YAML layer: spans, strict reading, typos, durations.

use super::*;

fn parse_ok(source: &str) -> Document {
    match parse("t.yaml", source) {
        Ok(doc) => doc,
        Err(e) => panic!("parse failed:\n{}", e.render("t.yaml", source)),
    }
}

fn parse_err(source: &str) -> String {
    match parse("t.yaml", source) {
        Ok(_) => panic!("expected an error for {source:?}"),
        Err(e) => e.render("t.yaml", source),
    }
}

/// Renders a reader error against its document.
fn render_err<T: fmt::Debug>(doc: &Document, r: Result<T, Diagnostic>) -> String {
    doc.render(&r.expect_err("expected an error"))
}

fn root_map(doc: &Document) -> MapReader<'_> {
    doc.root.map("scenario").unwrap()
}

#[test]
fn unknown_key_renders_with_did_you_mean() {
    let source = "name: x\nsteps:\n  - sleeep: 2s\n";
    let doc = parse_ok(source);
    let mut top = root_map(&doc);
    top.required("name").unwrap();
    let steps = top.required("steps").unwrap().seq("steps").unwrap();
    top.finish(&["name", "steps"]).unwrap();
    let mut step = steps[0].map("step").unwrap();
    step.get("kill");
    let err = step.finish(&["kill", "sleep", "restart"]);
    assert_eq!(
        render_err(&doc, err),
        "error: unknown key `sleeep` in step
 --> t.yaml:3:5
  |
3 |   - sleeep: 2s
  |     ^^^^^^ unknown key
  = hint: did you mean `sleep`?
"
    );
}

#[test]
fn unknown_key_without_close_match_lists_known_keys() {
    let doc = parse_ok("wibble: 1\n");
    let err = root_map(&doc).finish(&["kill", "sleep"]).unwrap_err();
    assert_eq!(err.message, "unknown key `wibble` in scenario");
    assert_eq!(err.hint.as_deref(), Some("expected one of: `kill`, `sleep`"));
    // No known keys at all: say so rather than list nothing.
    let err = root_map(&doc).finish(&[]).unwrap_err();
    assert_eq!(err.hint.as_deref(), Some("scenario takes no keys: remove `wibble`"));
}

#[test]
fn present_keys_are_not_suggested() {
    let doc = parse_ok("name: a\nnmae: b\n");
    let mut m = root_map(&doc);
    m.get("name");
    let err = m.finish(&["name", "seed"]).unwrap_err();
    assert_eq!(err.hint.as_deref(), Some("expected one of: `name`, `seed`"));
}

#[test]
fn consumed_keys_pass_finish() {
    let doc = parse_ok("a: 1\nb: 2\n");
    let mut m = root_map(&doc);
    assert_eq!(m.get("a").unwrap().u64("a").unwrap(), 1);
    assert!(m.get("zzz").is_none());
    assert_eq!(m.required("b").unwrap().u64("b").unwrap(), 2);
    assert_eq!(m.keys().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    m.finish(&["a", "b"]).unwrap();
}

#[test]
fn did_you_mean_picks_closest_then_first() {
    assert_eq!(did_you_mean("sleeep", &["kill", "sleep"]), Some("sleep"));
    assert_eq!(did_you_mean("nmae", &["name"]), Some("name")); // transposition
    assert_eq!(did_you_mean("kil", &["kill", "fill"]), Some("kill"));
    // Tie at distance 1: the earlier candidate wins.
    assert_eq!(did_you_mean("bat", &["cat", "bag"]), Some("cat"));
    // Closer beats earlier.
    assert_eq!(did_you_mean("restrat", &["restore", "restart"]), Some("restart"));
    assert_eq!(did_you_mean("xyz", &["kill", "sleep"]), None);
    // Short words still allow one edit.
    assert_eq!(did_you_mean("m", &["ms"]), Some("ms"));
    assert_eq!(did_you_mean("anything", &[]), None);
    assert_eq!(did_you_mean("ñame", &["name"]), Some("name"));
}

#[test]
fn missing_key_points_at_the_mapping() {
    let source = "steps:\n  - kill: a\n    after: 2s\n";
    let doc = parse_ok(source);
    let mut top = root_map(&doc);
    let steps = top.required("steps").unwrap().seq("steps").unwrap();
    let mut step = steps[0].map("step").unwrap();
    let err = step.required("node");
    assert_eq!(
        render_err(&doc, err),
        "error: missing key `node` in step
 --> t.yaml:2:5
  |
2 |   - kill: a
  |     ^
  = hint: add `node: ...` to the step; `chaoslab schema` says what it takes
"
    );
}

#[test]
fn wrong_type_messages() {
    let doc = parse_ok("a: [1]\nb: x\nc:\nd: {k: v}\ne: -3\nf: 1.5\ng: \"yes\"\n");
    let mut m = root_map(&doc);
    let a = m.get("a").unwrap();
    let err = a.str("name").unwrap_err();
    assert_eq!(err.message, "expected a string for name, found a list");
    assert_eq!((err.span.line, err.span.column), (1, 4));
    assert_eq!(
        render_err(&doc, a.map("node")),
        "error: expected a mapping for node, found a list
 --> t.yaml:1:4
  |
1 | a: [1]
  |    ^
  = hint: write `key: value` lines indented under it, or `{key: value}` on one line
"
    );
    let b = m.get("b").unwrap();
    assert_eq!(b.u64("port").unwrap_err().message, "expected a non-negative integer for port, found a string");
    assert_eq!(b.f64("rate").unwrap_err().message, "expected a number for rate, found a string");
    assert_eq!(b.seq("steps").unwrap_err().message, "expected a list for steps, found a string");
    let err = b.bool("enabled").unwrap_err();
    assert_eq!(err.message, "expected true or false for enabled, found a string");
    let c = m.get("c").unwrap();
    assert_eq!(c.str("name").unwrap_err().message, "expected a string for name, found an empty value");
    assert_eq!(c.duration("after").unwrap_err().message, "expected a duration for after, found an empty value");
    let d = m.get("d").unwrap();
    assert_eq!(d.str("name").unwrap_err().message, "expected a string for name, found a mapping");
    let e = m.get("e").unwrap();
    assert_eq!(e.u64("count").unwrap_err().message, "expected a non-negative integer for count, found `-3`");
    let f = m.get("f").unwrap();
    assert_eq!(f.u64("count").unwrap_err().message, "expected a non-negative integer for count, found `1.5`");
    assert_eq!(f.bool("x").unwrap_err().message, "expected true or false for x, found a number");
    let g = m.get("g").unwrap();
    let err = g.bool("x").unwrap_err();
    assert_eq!(err.message, "expected true or false for x, found a string");
    assert_eq!(err.hint.as_deref(), Some("write true, false, yes or no without quotes"));
    assert_eq!(m.get("c").unwrap().kind_name(), "null");
}

#[test]
fn empty_value_is_an_empty_list_or_mapping() {
    let doc = parse_ok("steps:\nconfig:\n");
    let mut m = root_map(&doc);
    assert!(m.get("steps").unwrap().seq("steps").unwrap().is_empty());
    let config = m.get("config").unwrap();
    assert!(config.is_null());
    let mut c = config.map("config").unwrap();
    assert_eq!(c.required("x").unwrap_err().message, "missing key `x` in config");
    c.finish(&[]).unwrap();
}

#[test]
fn scalars_keep_their_written_text() {
    let doc = parse_ok("kill: 6381\nb: yes\nc: 007\nd: \"x\"\ne: appendonly yes\nf: 0x1F\ng: 1.50\nh: 'q'\ni: ~\n");
    let mut m = root_map(&doc);
    let mut text = |k: &str| m.get(k).unwrap().as_text();
    assert_eq!(text("kill").as_deref(), Some("6381"));
    assert_eq!(text("b").as_deref(), Some("yes"));
    assert_eq!(text("c").as_deref(), Some("007"));
    assert_eq!(text("d").as_deref(), Some("x"));
    assert_eq!(text("e").as_deref(), Some("appendonly yes"));
    assert_eq!(text("f").as_deref(), Some("0x1F"));
    assert_eq!(text("g").as_deref(), Some("1.50"));
    assert_eq!(text("h").as_deref(), Some("q"));
    assert_eq!(text("i"), None);

    let kill = m.get("kill").unwrap();
    assert!(matches!(kill.value, Value::Int(6381)));
    assert_eq!(kill.str("node").unwrap(), "6381");
    assert!(m.get("b").unwrap().bool("b").unwrap());
    assert_eq!(m.get("c").unwrap().u64("c").unwrap(), 7);
    assert_eq!(m.get("f").unwrap().u64("f").unwrap(), 31);
    assert_eq!(m.get("g").unwrap().f64("g").unwrap(), 1.5);
    assert_eq!(m.get("kill").unwrap().f64("g").unwrap(), 6381.0);
}

#[test]
fn aliases_take_text_from_the_anchor() {
    let doc = parse_ok("a: &port 6379\nb: *port\n");
    let mut m = root_map(&doc);
    let b = m.get("b").unwrap();
    assert_eq!(b.as_text().as_deref(), Some("6379"));
    // ...but point at the alias, where it was used.
    assert_eq!((b.span.line, b.span.column), (2, 4));
}

#[test]
fn big_and_negative_integers() {
    let doc = parse_ok("seed: 18446744073709551615\nneg: -5\nhuge: 99999999999999999999999\n");
    let mut m = root_map(&doc);
    let seed = m.get("seed").unwrap();
    assert!(matches!(seed.value, Value::Float(_)));
    assert_eq!(seed.u64("seed").unwrap(), u64::MAX);
    assert_eq!(seed.as_text().as_deref(), Some("18446744073709551615"));
    assert!(matches!(m.get("neg").unwrap().value, Value::Int(-5)));
    let huge = m.get("huge").unwrap();
    assert_eq!(
        huge.u64("seed").unwrap_err().message,
        "expected a non-negative integer for seed, found `99999999999999999999999`"
    );
}

#[test]
fn non_finite_numbers_parse_but_are_not_f64() {
    let doc = parse_ok("x: .inf\n");
    let x = root_map(&doc).get("x").unwrap();
    assert_eq!(x.as_text().as_deref(), Some(".inf"));
    assert_eq!(x.f64("rate").unwrap_err().message, "expected a finite number for rate, found `.inf`");
}

#[test]
fn spans_are_bytes_and_columns_are_chars() {
    let source = "ñé: wörld\n";
    let doc = parse_ok(source);
    let Value::Map(entries) = &doc.root.value else { panic!() };
    let e = &entries[0];
    assert_eq!(e.key_span, Span { line: 1, column: 1, offset: 0, len: 4 });
    assert_eq!(e.value.span, Span { line: 1, column: 5, offset: 6, len: 6 });
    assert_eq!(&source[e.value.span.offset..][..e.value.span.len], "wörld");
    let err = e.value.u64("port");
    assert_eq!(
        render_err(&doc, err),
        "error: expected a non-negative integer for port, found a string
 --> t.yaml:1:5
  |
1 | ñé: wörld
  |     ^^^^^
  = hint: write a whole number of 0 or more, digits only, e.g. `6379`
"
    );
}

#[test]
fn empty_documents_are_null() {
    for source in ["", "\n", "# just a comment\n", "---\n"] {
        let doc = parse_ok(source);
        assert!(doc.root.is_null(), "{source:?}");
        assert!(doc.root.map("scenario").unwrap().finish(&[]).is_ok());
    }
}

#[test]
fn syntax_error_unclosed_bracket() {
    let at_bracket = "error: unclosed `[`: this list is never closed
 --> t.yaml:3:11
  |
3 |   - kill: [
  |           ^ opened here
  = hint: close it with `]` before the next key or item, e.g. `[a, b]`; it may span lines
";
    assert_eq!(parse_err("name: x\nsteps:\n  - kill: [\n"), at_bracket);
    // With more lines after it the parser stops a line later; the error
    // still points at the bracket.
    assert_eq!(parse_err("name: x\nsteps:\n  - kill: [\n  - sleep: 1s\nseed: 1\n"), at_bracket);
}

#[test]
fn duplicate_key_is_an_error() {
    assert_eq!(
        parse_err("name: a\nseed: 1\nname: b\n"),
        "error: duplicate key `name`
 --> t.yaml:3:1
  |
3 | name: b
  | ^^^^
  = hint: each key may appear only once in a mapping: remove or rename one of them
"
    );
}

#[test]
fn error_past_end_of_input() {
    let out = parse_err("key: \"unterminated\n");
    assert!(out.starts_with("error: "), "{out}");
    assert!(out.contains("1 | key: \"unterminated\n"), "{out}");
}

#[test]
fn multiple_documents_are_rejected() {
    let out = parse_err("a: 1\n---\nb: 2\n");
    assert!(out.contains(" --> t.yaml:3:1\n"), "{out}");
}

#[test]
fn too_deep_nesting_is_an_error() {
    let source = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let out = parse_err(&source);
    assert!(out.starts_with("error: nesting is too deep (more than 32 levels)\n"), "{out}");
    // Block style is bounded the same way.
    let source: String = (0..100).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
    let out = parse_err(&source);
    assert!(out.starts_with("error: nesting is too deep"), "{out}");
    // Right at the limit still works, including dropping the tree.
    let source = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    parse_ok(&source);
    let source: String = (0..MAX_DEPTH).map(|i| format!("{}k{i}:\n", "  ".repeat(i))).collect();
    parse_ok(&source);
}

#[test]
fn durations() {
    let ok = [
        ("0", Duration::ZERO),
        ("0s", Duration::ZERO),
        ("500ms", Duration::from_millis(500)),
        ("15s", Duration::from_secs(15)),
        ("2m", Duration::from_secs(120)),
        ("1m30s", Duration::from_secs(90)),
        ("1.5s", Duration::from_millis(1500)),
        ("0.5ms", Duration::from_micros(500)),
        ("1h", Duration::from_secs(3600)),
        ("1d", Duration::from_secs(86_400)),
        ("250us", Duration::from_micros(250)),
        ("7ns", Duration::from_nanos(7)),
        ("1.000000001s", Duration::from_nanos(1_000_000_001)),
        ("0.1s", Duration::from_millis(100)),
        ("1h2m3s4ms5us6ns", Duration::new(3723, 4_005_006)),
        (" 3s ", Duration::from_secs(3)),
    ];
    for (text, want) in ok {
        assert_eq!(parse_duration(text), Ok(want), "{text}");
    }
    let bad = [
        ("500", "add a unit: 500ms, 15s, 2m"),
        ("1.5", "add a unit: 500ms, 15s, 2m"),
        ("1m30", "add a unit: 500ms, 15s, 2m"),
        ("", "write a number and a unit; add a unit: 500ms, 15s, 2m"),
        ("5x", "unknown unit `x`; use one of ns, us, ms, s, m, h, d"),
        ("5sec", "unknown unit `sec`; use one of ns, us, ms, s, m, h, d"),
        ("-1s", "a duration cannot be negative"),
        ("30s1m", "put units from largest to smallest, each once, like 1h30m"),
        ("1s1s", "put units from largest to smallest, each once, like 1h30m"),
        ("0.5ns", "`0.5ns` is not a whole number of nanoseconds"),
        ("1.s", "expected digits after the `.` in `1.s`"),
        ("s", "expected a number before `s`, like 15s"),
        ("1mms", "unknown unit `mms`; use one of ns, us, ms, s, m, h, d"),
        (".5s", "write a digit before the `.`, like 0.5s"),
        ("1s 2ms", "remove the spaces: write durations like 15s or 1m30s"),
        ("1 s", "remove the spaces: write durations like 15s or 1m30s"),
        ("1.5.5s", "unexpected `.` in `1.5.5s`; write durations like 1m30s"),
        ("1s,", "unexpected `,` in `1s,`; write durations like 1m30s"),
        ("99999999999999999999999999999999999999999d", "duration is too large"),
        ("999999999999999d", "duration is too large"),
    ];
    for (text, hint) in bad {
        assert_eq!(parse_duration(text), Err(hint.to_string()), "{text}");
    }
}

#[test]
fn duration_accessor_errors_carry_a_hint() {
    let source = "after: 500\nwait: 2s\nzero: 0\n";
    let doc = parse_ok(source);
    let mut m = root_map(&doc);
    assert_eq!(
        render_err(&doc, m.get("after").unwrap().duration("step")),
        "error: invalid duration `500` for step
 --> t.yaml:1:8
  |
1 | after: 500
  |        ^^^
  = hint: add a unit: 500ms, 15s, 2m
"
    );
    assert_eq!(m.get("wait").unwrap().duration("wait").unwrap(), Duration::from_secs(2));
    assert_eq!(m.get("zero").unwrap().duration("zero").unwrap(), Duration::ZERO);
}

#[test]
fn format_duration_is_shortest_exact() {
    let cases = [
        (Duration::ZERO, "0s"),
        (Duration::from_millis(500), "500ms"),
        (Duration::from_secs(15), "15s"),
        (Duration::from_secs(120), "2m"),
        (Duration::from_secs(90), "1m30s"),
        (Duration::from_millis(1500), "1s500ms"),
        (Duration::from_nanos(1), "1ns"),
        (Duration::from_secs(86_400 + 3600), "1d1h"),
    ];
    for (d, want) in cases {
        assert_eq!(format_duration(d), want);
    }
}

#[test]
fn format_then_parse_round_trips() {
    // A deterministic spread of values across every unit, plus the edges.
    let mut values = vec![Duration::ZERO, Duration::MAX, Duration::from_nanos(u64::MAX)];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..2000u32 {
        // xorshift: cheap, reproducible pseudo-random bits.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let secs = x >> (i % 64);
        let nanos = (x % 1_000_000_000) as u32;
        values.push(Duration::new(secs, nanos));
        values.push(Duration::from_nanos(x >> (i % 64)));
        values.push(Duration::from_millis(u64::from(i) * 250));
    }
    for d in values {
        let text = format_duration(d);
        assert_eq!(parse_duration(&text), Ok(d), "{text}");
    }
}

#[test]
fn garbage_never_panics() {
    let mut inputs: Vec<String> = vec![
        "[".repeat(10_000),
        "{".repeat(10_000),
        "- ".repeat(10_000),
        "a: ".repeat(10_000),
        "&a [*a]".to_string(),
        "a: &a\n  b: *a\n".to_string(),
        "*unknown".to_string(),
        "? [1, 2]\n: x\n".to_string(),
        "~: 1\n".to_string(),
        "<<: 5\n".to_string(),
        "!!binary x".to_string(),
        "\u{feff}a: 1".to_string(),
        "a:\t1\n\tb: 2".to_string(),
        "\"\\u".to_string(),
        "%YAML 9.9\n---\na".to_string(),
        "a: |\n x\n  y\n z".to_string(),
        "\0\u{1}\u{7f}".to_string(),
        "x: 1e999999".to_string(),
        "x: -0x8000000000000001".to_string(),
    ];
    // Laughing-at-you alias bomb: must hit a budget, not run out of memory.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..20 {
        let p = i - 1;
        bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    inputs.push(bomb);
    // Random bytes, biased towards YAML punctuation so the parser gets past
    // the first character.
    let alphabet = b"ab01 :-[]{},&*!|>'\"#?\n\t\\%@`~.";
    let mut x: u64 = 12345;
    for _ in 0..3000 {
        let mut bytes = Vec::new();
        let len = (x % 60) as usize;
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(7) {
                bytes.push((x >> 8) as u8);
            } else {
                bytes.push(alphabet[(x >> 16) as usize % alphabet.len()]);
            }
        }
        inputs.push(String::from_utf8_lossy(&bytes).into_owned());
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    }
    for source in &inputs {
        match parse("g.yaml", source) {
            Ok(doc) => {
                exercise(&doc.root);
            }
            Err(e) => {
                assert!(!e.is_empty());
                let text = e.render("g.yaml", source);
                assert!(text.starts_with("error: "), "{text}");
            }
        }
    }
}

/// Calls every accessor on every node and renders every error, to shake
/// out panics in span handling.
fn exercise(node: &Node) {
    let source = "";
    let _ = node.kind_name();
    let _ = node.as_text();
    for r in
        [node.str("x").err(), node.u64("x").err(), node.f64("x").err(), node.bool("x").err(), node.duration("x").err()]
            .into_iter()
            .flatten()
    {
        let _ = r.render("f", source);
    }
    if let Ok(items) = node.seq("x") {
        items.iter().for_each(exercise);
    }
    if let Ok(mut m) = node.map("x") {
        let _ = m.required("missing").map_err(|d| d.render("f", source));
        for e in m.keys() {
            exercise(&e.value);
        }
        let _ = m.finish(&["a", "b"]).map_err(|d| d.render("f", source));
    }
}
