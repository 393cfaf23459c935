//! The JSON Schema of the scenario format, for editors (`chaoslab schema`). It is
//! assembled from the same [`Syntax`] tables the parser dispatches on, so a step
//! a kind adds appears in the schema without anyone editing it here.

use crate::builtin;
use crate::kind::{Registry, Syntax};
use crate::parse::{DEFAULT_POLL, DEFAULT_START_TIME};
use crate::yaml::format_duration;
use schemars::Schema;
use serde_json::{Map, Value, json};

fn one_key_objects(syntaxes: &[Syntax], extra: &Map<String, Value>) -> Vec<Value> {
    syntaxes
        .iter()
        .map(|s| {
            let mut props = extra.clone();
            props.insert(s.name.to_owned(), s.schema.clone());
            json!({
                "type": "object",
                "description": s.doc,
                "required": [s.name],
                "properties": props,
                "additionalProperties": false,
            })
        })
        .collect()
}

/// A step that takes no value (`heal`) may be written as its bare name: `- heal`.
fn bare_steps(syntaxes: &[Syntax]) -> Option<Value> {
    let names: Vec<&str> = syntaxes.iter().filter(|s| s.schema == json!({"type": "null"})).map(|s| s.name).collect();
    (!names.is_empty()).then(|| json!({"enum": names, "description": "a step that takes no value, by its bare name"}))
}

/// The schema for scenario files with every step and condition `registry` knows.
pub fn scenario_schema(registry: &Registry) -> Schema {
    let mut steps = builtin::steps();
    let mut conditions = builtin::conditions();
    let mut kinds = Vec::new();
    for k in registry.kinds() {
        steps.extend(k.steps());
        conditions.extend(k.conditions());
        kinds.push(k.name());
    }
    let modifiers: Map<String, Value> = [
        ("at".to_owned(), json!({"type": "string", "description": "run no earlier than this virtual time, e.g. 30s"})),
        ("note".to_owned(), json!({"type": "string", "description": "a comment shown in reports"})),
    ]
    .into_iter()
    .collect();
    let condition_props: Map<String, Value> =
        conditions.iter().map(|c| (c.name.to_owned(), c.schema.clone())).collect();
    let mut step_forms = one_key_objects(&steps, &modifiers);
    step_forms.extend(bare_steps(&steps));
    let kind_schema = if kinds.is_empty() { json!({"type": "string"}) } else { json!({"enum": kinds}) };
    let value = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "chaoslab scenario",
        "type": "object",
        "required": ["name", "topology", "steps"],
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9._-]+$", "description": "names the report directory"},
            "description": {"type": "string"},
            "seed": {"type": "integer", "minimum": 0, "default": 1},
            "start-time": {"type": "string", "default": DEFAULT_START_TIME, "description": "wall clock at virtual time zero (UTC)"},
            "poll": {"type": "string", "default": format_duration(DEFAULT_POLL), "description": "how often waits and invariants look"},
            "topology": {
                "type": "object",
                "required": ["nodes"],
                "additionalProperties": false,
                "properties": {
                    "network": {"enum": ["host", "bridge"], "default": "host"},
                    "hosts": {"type": "array", "items": {"type": "object", "required": ["name", "ip"], "additionalProperties": false,
                        "properties": {"name": {"type": "string"}, "ip": {"type": "string", "format": "ipv4"}}}},
                    "nodes": {"type": "array", "items": {
                        "type": "object",
                        "required": ["kind", "port"],
                        "additionalProperties": false,
                        "properties": {
                            "name": {"type": "string", "description": "defaults to the port"},
                            "kind": kind_schema,
                            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                            "host": {"type": "string"},
                            "config": {"type": "string", "description": "config file text: redis.conf / sentinel.conf directives"},
                            "start": {"type": "boolean", "default": true}
                        }
                    }}
                }
            },
            "network": {"type": "object", "additionalProperties": false, "properties": {
                "latency": {"$ref": "#/$defs/latency"},
                "loss": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                "bandwidth": {"$ref": "#/$defs/bandwidth"},
                "cross-host": {"type": "object", "additionalProperties": false, "properties": {
                    "latency": {"$ref": "#/$defs/latency"}, "loss": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                    "bandwidth": {"$ref": "#/$defs/bandwidth"}}},
                "tcp-rmem": {"$ref": "#/$defs/tcp-buffer", "description": "receive buffer min default max (net.ipv4.tcp_rmem); default 4096 131072 33554432"},
                "tcp-wmem": {"$ref": "#/$defs/tcp-buffer", "description": "send buffer min default max (net.ipv4.tcp_wmem); default 4096 16384 4194304"}
            }},
            "faults": {"type": "array", "items": {"$ref": "#/$defs/step"}, "description": "faults at fixed times (need `at`)"},
            "invariants": {"type": "array", "items": {"$ref": "#/$defs/condition"}},
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}}
        },
        "$defs": {
            "tcp-buffer": {"oneOf": [
                {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 3, "maxItems": 3},
                {"type": "string", "examples": ["4096 131072 33554432"]}
            ]},
            "latency": {"oneOf": [
                {"type": "string", "examples": ["50us", "2ms"]},
                {"type": "object", "required": ["min", "max"], "additionalProperties": false,
                 "properties": {"min": {"type": "string"}, "max": {"type": "string"}}}
            ]},
            "bandwidth": {
                "description": "bytes/s each direction of each connection carries; units are decimal (`kb`, `mb`, `gb` bytes/s; `kbit`, `mbit`, `gbit` bits/s)",
                "oneOf": [
                    {"type": "integer", "minimum": 1},
                    {"type": "string", "pattern": "^([0-9]+(\\.[0-9]+)? *([kKmMgG][bB]([iI][tT])?)?|unlimited)$", "examples": ["1gbit", "100mbit", "10mb", "unlimited"]}
                ]
            },
            "step": {"oneOf": step_forms},
            "condition": {"type": "object", "minProperties": 1, "properties": condition_props}
        }
    });
    Schema::try_from(value).expect("the scenario schema is a JSON object")
}
