//! A condition over several nodes without listing them: `nodes:` in place of
//! `node:` says which — `all`, `any` or `majority` of the nodes of the
//! condition's kind (every node for a built-in one), or a list that must all
//! hold — and `except:` leaves some out. `with-role: slave` counts, at each
//! look, only the nodes whose `${role:...}` selector says so now. `cluster-info: {nodes: all,
//! field: cluster_state, equals: ok}` reads as the story says it.

use crate::builtin::{All, Any, parse_one_condition};
use crate::diag::Diagnostic;
use crate::error::RunError;
use crate::kind::{Condition, Observation, ParseCx, quoted};
use crate::runner::Runtime;
use crate::template::Template;
use crate::yaml::{Entry, Node, Value, did_you_mean};

/// How many of the nodes must satisfy the condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quantifier {
    All,
    Any,
    Majority,
}

const QUANTIFIERS: &str = "`all`, `any` or `majority` of the nodes of the condition's kind, or a list of nodes \
                           (all must hold); `except: [...]` leaves some out";

/// `Some` when the condition's mapping says `nodes:`.
pub(crate) fn parse(name: &str, value: &Node, cx: &ParseCx<'_>) -> Option<Result<Box<dyn Condition>, Diagnostic>> {
    let Value::Map(entries) = &value.value else { return None };
    let at = entries.iter().position(|e| e.key == "nodes")?;
    Some(quantified(name, value, entries, at, cx))
}

fn quantified(
    name: &str,
    value: &Node,
    entries: &[Entry],
    at: usize,
    cx: &ParseCx<'_>,
) -> Result<Box<dyn Condition>, Diagnostic> {
    if let Some(e) = entries.iter().find(|e| e.key == "node") {
        return Err(Diagnostic::new(e.key_span, format!("`{name}` has both `node` and `nodes`"))
            .with_hint("`node:` names one node; `nodes:` says which several (all, any, majority or a list)"));
    }
    let with_role = match entries.iter().find(|e| e.key == "with-role") {
        Some(e) => Some(role_name(&e.value)?),
        None => None,
    };
    let except = match entries.iter().find(|e| e.key == "except") {
        Some(e) => names(&e.value, cx, "except")?,
        None => Vec::new(),
    };
    let nodes_value = &entries[at].value;
    let (q, listed) = match &nodes_value.value {
        Value::Seq(_) => (Quantifier::All, names(nodes_value, cx, "nodes")?),
        _ => (quantifier(nodes_value)?, of_kind(name, cx)),
    };
    let chosen: Vec<String> = listed.into_iter().filter(|n| !except.contains(n)).collect();
    if chosen.is_empty() {
        return Err(Diagnostic::new(nodes_value.span, format!("`{name}` applies to no node"))
            .with_hint("every node it could apply to is left out by `except:` or of another kind"));
    }
    let mut parsed = Vec::with_capacity(chosen.len());
    for node in &chosen {
        let mut one = entries.to_vec();
        one.retain(|e| e.key != "except" && e.key != "with-role");
        let i = one.iter().position(|e| e.key == "nodes").expect("`nodes` is there");
        let span = one[i].value.span;
        one[i] = Entry {
            key: "node".into(),
            key_span: one[i].key_span,
            value: Node { span, value: Value::Str(node.clone()), raw: None },
        };
        parsed.push(parse_one_condition(name, &Node { span: value.span, value: Value::Map(one), raw: None }, cx)?);
    }
    if let Some(role) = with_role {
        let roles = chosen.iter().map(|n| Template::parse(&format!("${{role:{n}}}")).expect("a node name")).collect();
        return Ok(Box::new(OfRole { q, role, roles, each: parsed }));
    }
    Ok(match q {
        Quantifier::All => Box::new(All(parsed)),
        Quantifier::Any => Box::new(Any(parsed)),
        Quantifier::Majority => Box::new(Majority(parsed)),
    })
}

/// `with-role:`: `master`, or `slave` (`replica` says the same).
fn role_name(n: &Node) -> Result<String, Diagnostic> {
    let text = n.str("with-role")?;
    match text.as_str() {
        "master" => Ok("master".into()),
        "slave" | "replica" => Ok("slave".into()),
        other => {
            let d = Diagnostic::new(n.span, format!("unknown role `{other}` for with-role"));
            Err(match did_you_mean(other, &["master", "slave", "replica"]) {
                Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                None => d.with_hint("`master` or `slave` (or `replica`), as INFO says"),
            })
        }
    }
}

fn quantifier(n: &Node) -> Result<Quantifier, Diagnostic> {
    let text = n.str("nodes")?;
    match text.as_str() {
        "all" => Ok(Quantifier::All),
        "any" => Ok(Quantifier::Any),
        "majority" => Ok(Quantifier::Majority),
        other => {
            let d = Diagnostic::new(n.span, format!("unknown quantifier `{other}` for nodes"));
            Err(match did_you_mean(other, &["all", "any", "majority"]) {
                Some(best) => d.with_hint(format!("did you mean `{best}`?")),
                None => d.with_hint(QUANTIFIERS),
            })
        }
    }
}

/// A list of declared node names (one name alone is a list of one).
fn names(n: &Node, cx: &ParseCx<'_>, what: &str) -> Result<Vec<String>, Diagnostic> {
    let items: Vec<&Node> = match &n.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![n],
    };
    let mut out = Vec::new();
    for item in items {
        let r = cx.node_ref(item, what)?;
        let name = r.template.literal().map(str::to_owned).ok_or_else(|| {
            Diagnostic::new(item.span, format!("`{what}` takes node names, not captures or selectors"))
                .with_hint("name the nodes as declared, e.g. `[\"6382\", \"6384\"]`")
        })?;
        out.push(name);
    }
    Ok(out)
}

/// The declared nodes a condition called `name` applies to: those of the kind
/// that defines it, or every node for a built-in condition.
fn of_kind(name: &str, cx: &ParseCx<'_>) -> Vec<String> {
    let kind = cx.registry.condition_kind(name).map(|k| k.name());
    cx.nodes.iter().filter(|n| kind.is_none_or(|k| n.kind == k)).map(|n| n.name.clone()).collect()
}

/// Holds when more than half of its conditions hold.
struct Majority(Vec<Box<dyn Condition>>);

impl Condition for Majority {
    fn changes_only_with_events(&self) -> bool {
        self.0.iter().all(|c| c.changes_only_with_events())
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let mut holding = 0;
        let mut observed = Vec::new();
        for c in &self.0 {
            let o = c.observe(rt)?;
            holding += usize::from(o.holds);
            observed.push(o.observed);
        }
        let n = self.0.len();
        Ok(Observation { holds: holding * 2 > n, observed: format!("{holding} of {n}: {}", observed.join("; ")) })
    }
    fn describe(&self) -> String {
        let each: Vec<String> = self.0.iter().map(|c| c.describe()).collect();
        format!("a majority of: {}", quoted(&each.iter().map(String::as_str).collect::<Vec<_>>()))
    }
}

/// The nodes that have `role` at the moment of each look, quantified.
struct OfRole {
    q: Quantifier,
    role: String,
    /// `${role:<node>}`, per node.
    roles: Vec<Template>,
    each: Vec<Box<dyn Condition>>,
}

impl Condition for OfRole {
    fn changes_only_with_events(&self) -> bool {
        self.each.iter().all(|c| c.changes_only_with_events())
    }
    fn observe(&self, rt: &Runtime) -> Result<Observation, RunError> {
        let (mut members, mut holding) = (0usize, 0usize);
        let mut observed = Vec::new();
        for (role, c) in self.roles.iter().zip(&self.each) {
            // A node that is down (or of a kind without roles) has no role now.
            if rt.render(role).ok().as_deref() != Some(self.role.as_str()) {
                continue;
            }
            members += 1;
            let o = c.observe(rt)?;
            holding += usize::from(o.holds);
            observed.push(o.observed);
        }
        if members == 0 {
            return Ok(Observation { holds: false, observed: format!("no node is {} now", self.role) });
        }
        let holds = match self.q {
            Quantifier::All => holding == members,
            Quantifier::Any => holding > 0,
            Quantifier::Majority => holding * 2 > members,
        };
        Ok(Observation { holds, observed: format!("{holding} of {members}: {}", observed.join("; ")) })
    }
    fn describe(&self) -> String {
        let q = match self.q {
            Quantifier::All => "every",
            Quantifier::Any => "some",
            Quantifier::Majority => "a majority of",
        };
        let each: Vec<String> = self.each.iter().map(|c| c.describe()).collect();
        format!("for {q} node that is {} now: {}", self.role, each.join(" / "))
    }
}
