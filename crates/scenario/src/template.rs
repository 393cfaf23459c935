//! Strings with `${capture}` references, filled in when the step runs, and
//! references to nodes that may be captured values ("the replica of 6381").

use crate::yaml::Span;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
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
                let name = &after[..end];
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    return Err(format!("bad capture name `{name}` in `{text}` (letters, digits, `_` and `-`)"));
                }
                if !literal.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut literal)));
                }
                parts.push(Part::Var(name.to_owned()));
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
            Part::Text(_) => None,
        })
    }

    /// Fills in the placeholders.
    pub fn render(&self, captures: &BTreeMap<String, String>) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => out.push_str(captures.get(v).ok_or_else(|| format!("`${{{v}}}` was never captured"))?),
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
    fn rejects_unclosed_and_bad_names() {
        assert_eq!(Template::parse("a ${b").unwrap_err(), "unclosed `${` in `a ${b`");
        assert!(Template::parse("${a b}").unwrap_err().starts_with("bad capture name `a b`"));
        assert_eq!(
            Template::parse("${gone}").unwrap().render(&BTreeMap::new()).unwrap_err(),
            "`${gone}` was never captured"
        );
    }
}
