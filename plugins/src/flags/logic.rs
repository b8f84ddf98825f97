//! The part of JsonLogic that flagd's `targeting` rules use to pick a variant for one
//! instance: `var`, `==`, `!=`, `in`, `and`, `or`, `!` and `if`. Anything else evaluates
//! to null, so a rule this reader does not know falls back to the default variant.

use serde_json::{Map, Value};

/// Evaluates `rule` against `data` (the evaluation context, an object).
pub fn evaluate(rule: &Value, data: &Map<String, Value>) -> Value {
    let Value::Object(op) = rule else {
        return rule.clone();
    };
    let Some((name, args)) = op.iter().next().filter(|_| op.len() == 1) else {
        return Value::Null;
    };
    let args: Vec<Value> = match args {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    let arg = |i: usize| args.get(i).map_or(Value::Null, |a| evaluate(a, data));
    match name.as_str() {
        "var" => match arg(0) {
            Value::String(key) => data.get(&key).cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        },
        "==" => Value::Bool(loose_eq(&arg(0), &arg(1))),
        "!=" => Value::Bool(!loose_eq(&arg(0), &arg(1))),
        "!" => Value::Bool(!truthy(&arg(0))),
        "and" => Value::Bool((0..args.len()).all(|i| truthy(&arg(i)))),
        "or" => Value::Bool((0..args.len()).any(|i| truthy(&arg(i)))),
        "in" => Value::Bool(match (arg(0), arg(1)) {
            (needle, Value::Array(items)) => items.iter().any(|i| loose_eq(&needle, i)),
            (Value::String(needle), Value::String(hay)) => hay.contains(&needle),
            _ => false,
        }),
        "if" => {
            // [cond, then, cond, then, ..., else]
            let mut i = 0;
            while i + 1 < args.len() {
                if truthy(&arg(i)) {
                    return arg(i + 1);
                }
                i += 2;
            }
            if i < args.len() { arg(i) } else { Value::Null }
        }
        _ => Value::Null,
    }
}

fn loose_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            s.parse::<f64>().ok() == n.as_f64()
        }
        _ => a == b,
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn data() -> Map<String, Value> {
        json!({"service": "vessel", "instance": "127.0.0.1:50052"})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn an_if_on_the_instance_picks_the_variant_for_that_instance_only() {
        let rule = json!({"if": [{"==": [{"var": "instance"}, "127.0.0.1:50052"]}, "on", "off"]});
        assert_eq!(evaluate(&rule, &data()), json!("on"));
        let other = json!({"if": [{"==": [{"var": "instance"}, "127.0.0.1:40000"]}, "on", "off"]});
        assert_eq!(evaluate(&other, &data()), json!("off"));
    }

    #[test]
    fn in_and_or_and_not_combine() {
        let rule = json!({"if": [
            {"and": [
                {"in": [{"var": "service"}, ["vessel", "user"]]},
                {"!": {"==": [{"var": "instance"}, "x"]}},
            ]},
            "on",
        ]});
        assert_eq!(evaluate(&rule, &data()), json!("on"));
        let none = json!({"if": [{"or": [false, {"==": [1, 2]}]}, "on"]});
        assert_eq!(evaluate(&none, &data()), Value::Null, "no else: null");
    }

    #[test]
    fn an_unknown_operator_is_null_so_the_default_applies() {
        let rule = json!({"fractional": [["on", 50], ["off", 50]]});
        assert_eq!(evaluate(&rule, &data()), Value::Null);
    }
}
