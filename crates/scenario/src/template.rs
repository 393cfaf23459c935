//! Strings with `${capture}` references, filled in when the step runs, and
//! references to nodes that may be captured values ("the replica of 6381").

use crate::yaml::Span;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
    /// `${name:arg}`: a selector, resolved from the nodes' views when the step runs.
    Select(String, String),
}

/// A string with `${name}` placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`; `$${` escapes a literal `${`.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            literal.push_str(&rest[..i]);
            rest = &rest[i..];
            if let Some(after) = rest.strip_prefix("$${") {
                literal.push_str("${");
                rest = after;
            } else if let Some(after) = rest.strip_prefix("${") {
                let end = after.find('}').ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
                let inside = &after[..end];
                let (name, arg) = match inside.split_once(':') {
                    Some((name, arg)) => (name, Some(arg)),
                    None => (inside, None),
                };
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    let what = if arg.is_some() { "selector" } else { "capture" };
                    return Err(format!("bad {what} name `{name}` in `{text}` (letters, digits, `_` and `-`)"));
                }
                if arg.is_some_and(|a| a.trim().is_empty()) {
                    return Err(format!("selector `{name}` needs an argument after `:` in `{text}`"));
                }
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(match arg {
                    Some(arg) => Part::Select(name.to_owned(), arg.trim().to_owned()),
                    None => Part::Var(name.to_owned()),
                });
                rest = &after[end + 1..];
            } else {
                literal.push('$');
                rest = &rest[1..];
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() || parts.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The text, if it has no placeholders.
    pub fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// Names of the captures it uses.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Text(_) | Part::Select(..) => None,
        })
    }

    /// The selectors it uses, as `(name, argument)`.
    pub fn selectors(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Select(name, arg) => Some((name.as_str(), arg.as_str())),
            Part::Text(_) | Part::Var(_) => None,
        })
    }

    /// Fills in the captures; a selector is an error (see [`Template::render_with`]).
    pub fn render(&self, captures: &BTreeMap<String, String>) -> Result<String, String> {
        self.render_with(captures, &|name, arg| Err(format!("`${{{name}:{arg}}}` needs a running scenario")))
    }

    /// Fills in the captures and asks `select` for each selector's value.
    pub fn render_with(
        &self,
        captures: &BTreeMap<String, String>,
        select: &dyn Fn(&str, &str) -> Result<String, String>,
    ) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(captures.get(v).ok_or_else(|| format!("`${{{v}}}` was never captured"))?),
                Part::Select(name, arg) => out.push_str(&select(name, arg)?),
            }
        }
        Ok(out)
    }
}

impl std::fmt::Display for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(t) => f.write_str(&t.replace("${", "$${"))?,
                Part::Var(v) => write!(f, "${{{v}}}")?,
                Part::Select(name, arg) => write!(f, "${{{name}:{arg}}}")?,
            }
        }
        Ok(())
    }
}

/// A reference to a node (or client, or host, for partitions): a name or a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRef {
    /// The name, possibly `${capture}`.
    pub template: Template,
    /// Where it was written.
    pub span: Span,
}

impl std::fmt::Display for NodeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.template.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_captures_and_escapes() {
        let t = Template::parse("replica ${r} of $${x} costs $5").unwrap();
        let caps = BTreeMap::from([("r".to_owned(), "6384".to_owned())]);
        assert_eq!(t.render(&caps).unwrap(), "replica 6384 of ${x} costs $5");
        assert_eq!(t.vars().collect::<Vec<_>>(), ["r"]);
        assert_eq!(t.to_string(), "replica ${r} of $${x} costs $5");
        assert_eq!(Template::parse("6381").unwrap().literal(), Some("6381"));
    }

    #[test]
    fn selectors_are_asked_when_rendered() {
        let t = Template::parse("cluster replicate ${node-id:6381} ${x}").unwrap();
        assert_eq!(t.selectors().collect::<Vec<_>>(), [("node-id", "6381")]);
        assert_eq!(t.vars().collect::<Vec<_>>(), ["x"]);
        assert_eq!(t.to_string(), "cluster replicate ${node-id:6381} ${x}");
        let caps = BTreeMap::from([("x".to_owned(), "!".to_owned())]);
        let got = t.render_with(&caps, &|name, arg| Ok(format!("<{name} {arg}>"))).unwrap();
        assert_eq!(got, "cluster replicate <node-id 6381> !");
        assert_eq!(
            t.render(&caps).unwrap_err(),
            "`${node-id:6381}` needs a running scenario",
            "rendering without a runtime says why"
        );
        assert_eq!(
            Template::parse("${replica-of: }").unwrap_err(),
            "selector `replica-of` needs an argument after `:` in `${replica-of: }`"
        );
        assert!(Template::parse("${re plica:1}").unwrap_err().starts_with("bad selector name `re plica`"));
    }

    #[test]
    fn rejects_unclosed_and_bad_names() {
        assert_eq!(Template::parse("a ${b").unwrap_err(), "unclosed `${` in `a ${b`");
        assert!(Template::parse("${a b}").unwrap_err().starts_with("bad capture name `a b`"));
        assert_eq!(
            Template::parse("${gone}").unwrap().render(&BTreeMap::new()).unwrap_err(),
            "`${gone}` was never captured"
        );
    }
}
