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

/// A condition that names one `node` may instead say `nodes:` (all, any,
/// majority, or a list) and `except:`; see [`crate::quantify`].
fn with_quantifiers(mut schema: Value) -> Value {
    let Some(obj) = schema.as_object_mut() else { return schema };
    let takes_node = obj.get("properties").and_then(|p| p.get("node")).is_some();
    if !takes_node {
        return schema;
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        props.insert("nodes".into(), json!({"oneOf": [
            {"enum": ["all", "any", "majority"], "description": "of the nodes of the condition's kind (every node for a built-in one)"},
            {"type": "array", "items": {"type": "string"}, "description": "all of these nodes"}]}));
        props.insert(
            "except".into(),
            json!({"type": "array", "items": {"type": "string"}, "description": "nodes `nodes:` leaves out"}),
        );
        props.insert(
            "with-role".into(),
            json!({"enum": ["master", "slave", "replica"], "description": "only the nodes that have this role at each look"}),
        );
    }
    if let Some(Value::Array(required)) = obj.get_mut("required") {
        required.retain(|r| r != "node");
    }
    schema
}

/// `{include: file}`: replaced by the named file's content (spliced into a list).
fn include_schema() -> Value {
    json!({"type": "object", "required": ["include"], "additionalProperties": false,
        "properties": {"include": {"type": "string", "description": "a YAML file, relative to this one"}}})
}

/// The `${name:arg}` selectors, documented (strings cannot be validated against them).
fn selectors_schema(registry: &Registry) -> Value {
    let props: Map<String, Value> = registry
        .selectors()
        .iter()
        .map(|s| (s.name().to_owned(), json!({"description": s.doc(), "examples": [s.example()]})))
        .collect();
    json!({"description": "`${name:arg}` in a node field or a text, resolved from the nodes when the step runs", "properties": props})
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
        conditions.iter().map(|c| (c.name.to_owned(), with_quantifiers(c.schema.clone()))).collect();
    let mut step_forms = one_key_objects(&steps, &modifiers);
    step_forms.extend(bare_steps(&steps));
    step_forms.push(json!({"$ref": "#/$defs/include", "description": "the steps of another file, spliced in here"}));
    let mut topology_props = Map::new();
    for t in registry.templates() {
        topology_props.insert(t.name.to_owned(), json!({"description": t.doc, "allOf": [t.schema]}));
    }
    let defaults: Map<String, Value> = kinds
        .iter()
        .map(|k| {
            ((*k).to_owned(), json!({"type": "string", "description": "config lines for every node of this kind"}))
        })
        .collect();
    let flavor_names: Vec<&str> = registry.kinds().flat_map(|k| k.flavors().iter().copied()).collect();
    let flavor_doc: Vec<String> = registry
        .kinds()
        .filter(|k| !k.flavors().is_empty())
        .map(|k| format!("{}: {} (default {})", k.name(), k.flavors().join(", "), k.flavors()[0]))
        .collect();
    let flavor_schema = json!({"enum": flavor_names,
        "description": format!("which server the node models, for kinds that model several; {}", flavor_doc.join("; "))});
    let kind_schema = if kinds.is_empty() { json!({"type": "string"}) } else { json!({"enum": kinds}) };
    let node_costs =
        json!({"$ref": "#/$defs/costs", "description": "this node's time costs, over the scenario's (redis nodes)"});
    let top_costs = json!({"$ref": "#/$defs/costs", "description": "time costs of every redis node's work, over the measured defaults"});
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
            "extends": {"type": "string", "description": "a base scenario file whose top-level keys this file's replace (params merged key by key)"},
            "params": {"type": "object", "description": "parameters with their defaults, used as ${param:name} and overridden by --set name=value",
                "additionalProperties": {"type": ["string", "integer", "number", "boolean"]}},
            "topology": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "defaults": {"type": "object", "additionalProperties": false, "properties": defaults,
                        "description": "config lines merged into every node of a kind, after its template's and before its own"},
                    "network": {"enum": ["host", "bridge"], "default": "host"},
                    "hosts": {"type": "array", "items": {"type": "object", "required": ["name", "ip"], "additionalProperties": false,
                        "properties": {"name": {"type": "string"}, "ip": {"type": "string", "format": "ipv4"}}}},
                    "nodes": {"type": "array", "items": {"anyOf": [{"$ref": "#/$defs/include"}, {
                        "type": "object", "required": ["name"], "additionalProperties": false,
                        "description": "changes a node a template declares: its config lines are added after the template's",
                        "properties": {"name": {"type": "string"}, "config": {"type": "string"}, "start": {"type": "boolean"}}}, {
                        "type": "object",
                        "required": ["kind", "port"],
                        "additionalProperties": false,
                        "properties": {
                            "name": {"type": "string", "description": "defaults to the port"},
                            "kind": kind_schema,
                            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                            "host": {"type": "string"},
                            "config": {"type": "string", "description": "config file text: redis.conf / sentinel.conf directives"},
                            "start": {"type": "boolean", "default": true},
                            "flavor": flavor_schema,
                            "costs": node_costs
                        }
                    }]}}
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
            "costs": top_costs,
            "faults": {"type": "array", "items": {"$ref": "#/$defs/step"}, "description": "faults at fixed times (need `at`)"},
            "invariants": {"type": "array", "description": "conditions looked at every poll while the run goes on; the first violation (virtual time, observed value, faults in force, running step) is reported", "items": {"allOf": [{"$ref": "#/$defs/condition"}, {"type": "object", "properties": {
                "name": {"type": "string", "description": "names it in reports"},
                "expect": {"enum": ["hold", "violated"], "default": "hold", "description": "`violated`: breaking it is the expected verdict and holding throughout fails the run"},
                "within": {"type": "string", "description": "how long it may stay false before that is a violation (e.g. convergence after a heal); no shorter than `poll`"}}}]}},
            "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}},
            "workloads": crate::workload::section_schema(registry.workload_driver()),
            "nemesis": crate::nemesis::schema()
        },
        "$defs": {
            "costs": costs_schema(),
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
            "include": include_schema(),
            "selectors": selectors_schema(registry),
            "condition": {"type": "object", "minProperties": 1, "properties": condition_props}
        }
    });
    let mut value = value;
    if let Some(Value::Object(props)) = value.pointer_mut("/properties/topology/properties") {
        props.extend(topology_props);
    }
    Schema::try_from(value).expect("the scenario schema is a JSON object")
}

/// The `costs:` mapping (top level and on a node), kept out of the main
/// `json!` so its nesting stays under the macro's recursion limit.
fn costs_schema() -> serde_json::Value {
    json!({"type": "object", "additionalProperties": false, "description": "what a node's work takes in virtual time; a busy node reads no input until it is done (README: Time costs)", "properties": {
        "command": {"type": "string", "description": "CPU per command; default 1us", "examples": ["1us"]},
        "read": {"type": "string", "description": "CPU per socket read (syscalls, event loop); default 2us"},
        "per-mib": {"type": "string", "description": "CPU per MiB read or written; default 262us"},
        "bus-message": {"type": "string", "description": "CPU per cluster bus message read or sent; default 12us"},
        "startup": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}],
            "description": "start-up time before it listens, or the range [least, most] each start draws from; default [8ms, 16ms]"},
        "load-per-mib": {"type": "string", "description": "time to load a MiB of RDB/AOF at start; default 16ms"},
        "fsync": {"type": "string", "description": "an fsync waited for on the main thread; default 3500us"}
    }})
}
