//! The flags file in OpenFeature flagd's JSON format: each flag has a `state`
//! (`ENABLED`/`DISABLED`), `variants` (name → value), a `defaultVariant` and, optionally,
//! `targeting` (a JsonLogic rule answering a variant name for the evaluation context, here
//! the service and the instance's address). Read here into numbers, and edited here for
//! `shippy flags` so the file stays one flagd would serve.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Kind, logic};

/// The schema flagd publishes for this format.
pub const SCHEMA: &str = "https://flagd.dev/schema/v0/flags.json";

/// A flags file with no flags.
pub fn empty() -> Value {
    json!({ "$schema": SCHEMA, "flags": {} })
}

/// Every flag in `document` as the number it takes for `context` (a switch is 1 or 0; a
/// disabled flag is 0). A flag whose variant is not a number or a switch is left out, with
/// a line in the answer's second half saying why.
pub fn evaluate(document: &Value, context: &Map<String, Value>) -> Result<Values, String> {
    let flags = document
        .get("flags")
        .and_then(Value::as_object)
        .ok_or("no \"flags\" object")?;
    let mut values = Values::default();
    for (key, flag) in flags {
        match value_of(flag, context) {
            Ok(v) => {
                values.numbers.insert(key.clone(), v);
            }
            Err(why) => values.problems.push(format!("{key}: {why}")),
        }
    }
    Ok(values)
}

/// What a flags file says for one context.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Values {
    pub numbers: BTreeMap<String, f64>,
    /// Flags that could not be read, each with why.
    pub problems: Vec<String>,
}

fn value_of(flag: &Value, context: &Map<String, Value>) -> Result<f64, String> {
    if flag.get("state").and_then(Value::as_str) == Some("DISABLED") {
        return Ok(0.0);
    }
    let variants = flag
        .get("variants")
        .and_then(Value::as_object)
        .ok_or("no \"variants\"")?;
    let targeted = flag
        .get("targeting")
        .filter(|t| t.as_object().is_some_and(|o| !o.is_empty()))
        .map(|rule| logic::evaluate(rule, context));
    let name = match targeted {
        Some(Value::String(name)) => name,
        _ => flag
            .get("defaultVariant")
            .and_then(Value::as_str)
            .ok_or("no \"defaultVariant\"")?
            .to_owned(),
    };
    match variants.get(&name) {
        Some(Value::Bool(on)) => Ok(if *on { 1.0 } else { 0.0 }),
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| "not a number".to_owned()),
        Some(_) => Err(format!(
            "variant {name:?} is neither a number nor true/false"
        )),
        None => Err(format!("no variant {name:?}")),
    }
}

/// Turns `key` on at `value` in `document`: everywhere, or only on the instance serving at
/// `instance` (a targeting rule on the evaluation context's `instance`).
pub fn set(document: &mut Value, key: &str, kind: Kind, value: f64, instance: Option<&str>) {
    let on = match kind {
        Kind::Switch => Value::Bool(value > 0.0),
        Kind::Share => json!(value),
        Kind::Millis => json!(value.round() as u64),
    };
    let off = match kind {
        Kind::Switch => Value::Bool(false),
        Kind::Share | Kind::Millis => json!(0),
    };
    let mut flag = json!({
        "state": "ENABLED",
        "variants": { "on": on, "off": off },
        "defaultVariant": if instance.is_some() { "off" } else { "on" },
    });
    if let Some(instance) = instance {
        flag["targeting"] =
            json!({ "if": [{ "==": [{ "var": "instance" }, instance] }, "on", "off"] });
    }
    flags_mut(document).insert(key.to_owned(), flag);
}

/// Turns `key` off (kept in the file, disabled); answers whether it was there.
pub fn off(document: &mut Value, key: &str) -> bool {
    let Some(flag) = flags_mut(document).get_mut(key) else {
        return false;
    };
    flag["state"] = json!("DISABLED");
    if let Some(o) = flag.as_object_mut() {
        o.remove("targeting");
    }
    if flag
        .get("variants")
        .and_then(Value::as_object)
        .is_some_and(|v| v.contains_key("off"))
    {
        flag["defaultVariant"] = json!("off");
    }
    true
}

fn flags_mut(document: &mut Value) -> &mut Map<String, Value> {
    if !document.is_object() {
        *document = empty();
    }
    let root = document.as_object_mut().expect("made an object above");
    root.entry("$schema").or_insert_with(|| json!(SCHEMA));
    let flags = root.entry("flags").or_insert_with(|| json!({}));
    if !flags.is_object() {
        *flags = json!({});
    }
    flags.as_object_mut().expect("made an object above")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(instance: &str) -> Map<String, Value> {
        json!({"service": "vessel", "instance": instance})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn a_flag_set_for_one_instance_is_on_there_and_off_elsewhere() {
        let mut doc = empty();
        set(
            &mut doc,
            "vessel.fail_rate",
            Kind::Share,
            0.5,
            Some("127.0.0.1:50052"),
        );
        let here = evaluate(&doc, &context("127.0.0.1:50052")).unwrap();
        assert_eq!(here.numbers["vessel.fail_rate"], 0.5);
        let there = evaluate(&doc, &context("127.0.0.1:41000")).unwrap();
        assert_eq!(there.numbers["vessel.fail_rate"], 0.0);
    }

    #[test]
    fn a_switch_reads_as_one_and_off_disables_it_but_keeps_it_in_the_file() {
        let mut doc = empty();
        set(&mut doc, "broker.refuse_publish", Kind::Switch, 1.0, None);
        assert_eq!(
            evaluate(&doc, &context("a")).unwrap().numbers["broker.refuse_publish"],
            1.0
        );
        assert!(off(&mut doc, "broker.refuse_publish"));
        assert!(!off(&mut doc, "store.refuse_writes"), "was never there");
        assert_eq!(doc["flags"]["broker.refuse_publish"]["state"], "DISABLED");
        assert_eq!(
            evaluate(&doc, &context("a")).unwrap().numbers["broker.refuse_publish"],
            0.0
        );
    }

    #[test]
    fn a_flag_written_by_hand_in_flagd_format_is_read() {
        let doc: Value = serde_json::from_str(
            r#"{"flags": {
                "vessel.latency_ms": {"state": "ENABLED", "variants": {"slow": 250, "none": 0},
                                      "defaultVariant": "none",
                                      "targeting": {"if": [{"==": [{"var": "service"}, "vessel"]}, "slow"]}},
                "user.slow_hash_ms": {"state": "ENABLED", "variants": {"on": "fast"}, "defaultVariant": "on"}
            }}"#,
        )
        .unwrap();
        let values = evaluate(&doc, &context("a")).unwrap();
        assert_eq!(values.numbers["vessel.latency_ms"], 250.0);
        assert!(!values.numbers.contains_key("user.slow_hash_ms"));
        assert_eq!(values.problems.len(), 1, "{:?}", values.problems);
        assert!(values.problems[0].starts_with("user.slow_hash_ms"));
    }

    #[test]
    fn a_file_without_flags_is_refused() {
        assert!(evaluate(&json!({"flag": {}}), &context("a")).is_err());
    }
}
