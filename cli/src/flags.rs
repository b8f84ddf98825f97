//! `shippy flags`: lists the fault flags with what each does and how it is set, and switches
//! one on (everywhere, or on one instance) or off by editing the flags file every service
//! follows. The file is replaced in one rename, so a service never reads half of it.

use std::path::Path;

use anyhow::Context;
use serde_json::Value;
use shippy_plugins::flags::{self, Flag, flagd};

/// The flags file's document (an empty one when there is no file yet).
pub fn read(path: &Path) -> anyhow::Result<Value> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not valid JSON", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(flagd::empty()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `document` to `path` in one rename.
pub fn write(path: &Path, document: &Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(document)?;
    text.push('\n');
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, text)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// `vessel.fail_rate=0.5` → the flag and its value.
pub fn parse_setting(text: &str) -> anyhow::Result<(&'static Flag, f64)> {
    let (key, value) = text
        .split_once('=')
        .with_context(|| format!("{text:?}: expected FLAG=VALUE, e.g. vessel.fail_rate=0.5"))?;
    let flag = flags::find(key).with_context(|| {
        format!(
            "{key:?} is not a fault flag; `shippy flags` lists them: {}",
            flags::known().map(|f| f.key).collect::<Vec<_>>().join(", ")
        )
    })?;
    let value = flag
        .kind
        .parse(value)
        .map_err(|why| anyhow::anyhow!("{key}: {why}"))?;
    Ok((flag, value))
}

/// How `key` stands in `document`: `off`, `0.5`, or `0.5 on 127.0.0.1:50052`.
pub fn describe(document: &Value, key: &str) -> String {
    let flag = &document["flags"][key];
    if flag.is_null() || flag["state"] == "DISABLED" {
        return "off".to_owned();
    }
    let targeting = &flag["targeting"];
    let variant = |name: &Value| match name.as_str().map(|n| &flag["variants"][n]) {
        Some(Value::Bool(true)) => "on".to_owned(),
        Some(Value::Bool(false)) => "off".to_owned(),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v > 0.0 => format!("{v}"),
            _ => "off".to_owned(),
        },
        Some(other) => other.to_string(),
        None => String::new(),
    };
    if targeting.as_object().is_none_or(serde_json::Map::is_empty) {
        return variant(&flag["defaultVariant"]);
    }
    // The rule `shippy flags set --instance` writes; anything else is shown as targeted.
    let rule = &targeting["if"];
    match (rule[0]["=="][0]["var"].as_str(), rule[0]["=="][1].as_str()) {
        (Some("instance"), Some(instance)) => format!("{} on {instance}", variant(&rule[1])),
        _ => "targeted (see the file)".to_owned(),
    }
}

/// The table `shippy flags` prints.
pub fn table(document: &Value) -> String {
    let mut out = String::new();
    for flag in flags::known() {
        out.push_str(&format!(
            "{:<24} {:<28} {}\n",
            flag.key,
            describe(document, flag.key),
            flag.what
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_name_a_known_flag_and_a_value_of_its_kind() {
        let (flag, value) = parse_setting("vessel.fail_rate=0.5").unwrap();
        assert_eq!((flag.key, value), ("vessel.fail_rate", 0.5));
        let unknown = parse_setting("vessel.explode=1").unwrap_err().to_string();
        assert!(unknown.contains("not a fault flag") && unknown.contains("vessel.fail_rate"));
        let range = parse_setting("vessel.fail_rate=2").unwrap_err().to_string();
        assert!(range.contains("0 to 1"), "{range}");
        assert!(parse_setting("vessel.fail_rate").is_err());
    }

    #[test]
    fn the_table_says_how_each_flag_stands() {
        let mut doc = flagd::empty();
        flagd::set(
            &mut doc,
            "vessel.fail_rate",
            flags::Kind::Share,
            0.5,
            Some("127.0.0.1:50052"),
        );
        flagd::set(
            &mut doc,
            "broker.refuse_publish",
            flags::Kind::Switch,
            1.0,
            None,
        );
        assert_eq!(describe(&doc, "vessel.fail_rate"), "0.5 on 127.0.0.1:50052");
        assert_eq!(describe(&doc, "broker.refuse_publish"), "on");
        assert_eq!(describe(&doc, "user.latency_ms"), "off");
        flagd::off(&mut doc, "vessel.fail_rate");
        assert_eq!(describe(&doc, "vessel.fail_rate"), "off");
        assert_eq!(table(&doc).lines().count(), flags::known().count());
    }

    #[test]
    fn the_shipped_flags_file_is_flagd_json_with_every_flag_off() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/flags.json");
        let doc = read(&path).unwrap();
        assert_eq!(doc["$schema"], flagd::SCHEMA);
        for flag in flags::known() {
            assert!(!doc["flags"][flag.key].is_null(), "{} is listed", flag.key);
            assert_eq!(describe(&doc, flag.key), "off", "{} is off", flag.key);
        }
        let context = serde_json::Map::new();
        let values = flagd::evaluate(&doc, &context).unwrap();
        assert!(values.problems.is_empty(), "{:?}", values.problems);
        assert!(values.numbers.values().all(|v| *v == 0.0));
    }
}
