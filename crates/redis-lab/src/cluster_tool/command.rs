//! The command line of `redis-cli --cluster <command> [args] [--cluster-<opt> ...]`.

/// Options of `redis-cli --cluster <cmd>` (`--cluster-*`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    pub(crate) replicas: usize,
    pub(crate) yes: bool,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    pub(crate) slots: usize,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) pipeline: Option<usize>,
    pub(crate) weights: Vec<(String, f32)>,
    pub(crate) use_empty_masters: bool,
    pub(crate) threshold: Option<f32>,
    pub(crate) simulate: bool,
    pub(crate) replace: bool,
    pub(crate) slave: bool,
    pub(crate) master_id: Option<String>,
}

/// A parsed `--cluster` command line.
#[derive(Clone, Debug, PartialEq)]
pub struct Command {
    pub(crate) name: String,
    pub(crate) args: Vec<String>,
    pub(crate) opts: Options,
}

/// Parses `create 127.0.0.1:6381 ... --cluster-replicas 1` (what follows `--cluster`).
pub fn parse_command(text: &str) -> Result<Command, String> {
    let words = resp::split_args(text.as_bytes()).ok_or("Invalid argument(s)")?;
    let words: Vec<String> = words.into_iter().map(|w| String::from_utf8_lossy(&w).into_owned()).collect();
    let (name, rest) = words.split_first().ok_or("the command is empty")?;
    let name = name.to_ascii_lowercase();
    let arity = match name.as_str() {
        "create" => (1, usize::MAX),
        "check" | "info" | "reshard" | "rebalance" | "fix" => (1, 1),
        "add-node" | "del-node" => (2, 2),
        other => return Err(format!("Unknown --cluster subcommand '{other}'")),
    };
    let mut opts = Options::default();
    let mut args = Vec::new();
    let mut it = rest.iter();
    let value = |it: &mut std::slice::Iter<'_, String>, opt: &str| {
        it.next().cloned().ok_or_else(|| format!("{opt} needs a value"))
    };
    let number = |v: String, opt: &str| v.parse::<u64>().map_err(|_| format!("{opt}: '{v}' is not a number"));
    while let Some(w) = it.next() {
        let Some(opt) = w.strip_prefix("--cluster-") else {
            args.push(w.clone());
            continue;
        };
        let flag = format!("--cluster-{opt}");
        match opt {
            "replicas" => opts.replicas = number(value(&mut it, &flag)?, &flag)? as usize,
            "yes" => opts.yes = true,
            "from" => opts.from = Some(value(&mut it, &flag)?),
            "to" => opts.to = Some(value(&mut it, &flag)?),
            "slots" => opts.slots = number(value(&mut it, &flag)?, &flag)? as usize,
            "timeout" => opts.timeout_ms = Some(number(value(&mut it, &flag)?, &flag)?),
            "pipeline" => opts.pipeline = Some(number(value(&mut it, &flag)?, &flag)?.max(1) as usize),
            "weight" => {
                // Every following word without a leading -- is one name=weight.
                let mut more = it.clone().take_while(|w| !w.starts_with("--")).count();
                if more == 0 {
                    return Err(format!("{flag} needs node=weight pairs"));
                }
                while more > 0 {
                    let pair = value(&mut it, &flag)?;
                    let (n, w) = pair.split_once('=').ok_or_else(|| format!("{flag}: '{pair}' is not name=weight"))?;
                    let w: f32 = w.parse().map_err(|_| format!("{flag}: bad weight in '{pair}'"))?;
                    opts.weights.push((n.to_owned(), w));
                    more -= 1;
                }
            }
            "use-empty-masters" => opts.use_empty_masters = true,
            "threshold" => {
                let v = value(&mut it, &flag)?;
                opts.threshold = Some(v.parse().map_err(|_| format!("{flag}: '{v}' is not a number"))?);
            }
            "simulate" => opts.simulate = true,
            "replace" => opts.replace = true,
            "slave" | "replica" => opts.slave = true,
            "master-id" => opts.master_id = Some(value(&mut it, &flag)?),
            _ => return Err(format!("Unrecognized option: {flag}")),
        }
    }
    if args.len() < arity.0 || args.len() > arity.1 {
        return Err("[ERR] Wrong number of arguments for specified --cluster sub command".to_owned());
    }
    Ok(Command { name, args, opts })
}
