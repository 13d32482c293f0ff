//! Request schemas as strict as the server: rules the field attributes cannot say are added
//! here, so that every body the document allows is one the EPS accepts (a property-based tester
//! checks both ways).
//! - Text the EPS keeps refuses control characters: every free string of a request body (no
//!   `format`, `enum` or `pattern` of its own) gets a pattern saying so.
//! - A POI is named by `poiID` or by `logicalID` with `workstationType`, never both; the
//!   requests that must name one say so.
//! - An optional property may be `null`, read as if it were left out (serde's `Option`), except
//!   in the POI selector, where the form is decided by which fields are present.
//! - Country settings list active ISO 4217 codes, each once.
//! - A connect names its site: `siteSystemIDs` contains a `merchantID` with `current: "yes"`.

use eps_core::money::Currency;
use serde_json::{Value, json};

/// No control characters (C0, DEL and C1: Rust's `char::is_control`), as every text field of a
/// request is checked.
pub(super) const PRINTABLE: &str = "^[^\\x00-\\x1F\\x7F-\\x9F]*$";

/// Request schemas that must name a POI.
const POI_REQUIRED: [&str; 4] = [
    "PaymentRequest",
    "AuthorizationRequest",
    "RefundRequest",
    "ReconciliationRequest",
];

/// Tightens every schema a request body refers to.
pub(super) fn tighten(doc: &mut Value) {
    let mut names = Vec::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
            collect_refs(&operation["requestBody"], &mut names);
        }
    }
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    let mut seen = 0;
    while seen < names.len() {
        let name = names[seen].clone();
        seen += 1;
        if let Some(schema) = schemas.get(&name) {
            let mut more = Vec::new();
            collect_refs(schema, &mut more);
            for reference in more {
                if !names.contains(&reference) {
                    names.push(reference);
                }
            }
        }
    }
    for name in &names {
        let Some(schema) = schemas.get_mut(name) else {
            continue;
        };
        printable(schema);
        for part in schema
            .get_mut("allOf")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            printable(part);
        }
        one_poi(schema);
        if name != "PoiSelector" {
            nullable_when_optional(schema);
        }
        for part in schema
            .get_mut("allOf")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            nullable_when_optional(part);
        }
        if name == "CountrySettingsBody" {
            let currencies = &mut schema["properties"]["localCurrencies"];
            currencies["uniqueItems"] = Value::Bool(true);
            currencies["items"] =
                json!({"type": "string", "enum": Currency::codes().collect::<Vec<_>>()});
        }
        if name == "ConnectBody" {
            schema["properties"]["siteSystemIDs"]["contains"] = json!({
                "type": "object",
                "required": ["idType", "current"],
                "properties": {"idType": {"const": "merchantID"}, "current": {"const": "yes"}},
            });
        }
        if POI_REQUIRED.contains(&name.as_str()) {
            // In the `allOf` (beside the selector), where generators that build a model from
            // the `allOf` keep the model.
            let must = json!({"anyOf": [
                {"required": ["poiID"]},
                {"required": ["logicalID", "workstationType"]},
            ]});
            match schema.get_mut("allOf").and_then(Value::as_array_mut) {
                Some(parts) => parts.push(must),
                None => schema["anyOf"] = must["anyOf"].clone(),
            }
        }
    }
}

/// Component names `value` refers to.
fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref")
                && let Some(name) = reference.strip_prefix("#/components/schemas/")
                && !into.iter().any(|n| n == name)
            {
                into.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// Adds [`PRINTABLE`] to the free strings among `schema`'s properties (and array items).
fn printable(schema: &mut Value) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for property in properties.values_mut() {
        let target = if property["type"] == "array" {
            &mut property["items"]
        } else {
            property
        };
        let is_string = target["type"] == "string"
            || target["type"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "string"));
        let free = ["format", "enum", "pattern", "$ref"]
            .iter()
            .all(|key| target.get(key).is_none());
        if is_string && free {
            target["pattern"] = Value::String(PRINTABLE.to_owned());
        }
    }
}

/// The POI selector's rules (one form, not both) on the schema that has its properties.
fn one_poi(schema: &mut Value) {
    let has = |name: &str| schema["properties"].get(name).is_some();
    if !(has("poiID") && has("logicalID") && has("workstationType")) {
        return;
    }
    schema["properties"]["poiID"]["format"] = Value::String("uuid".to_owned());
    schema["properties"]["poiID"]
        .as_object_mut()
        .map(|p| p.remove("pattern"));
    // Neither both forms nor half of the second (`dependentRequired` is not read by every
    // tool; `not` is).
    schema["not"] = json!({"anyOf": [
        {"required": ["poiID", "logicalID"]},
        {"required": ["poiID", "workstationType"]},
        {"required": ["logicalID"], "not": {"required": ["workstationType"]}},
        {"required": ["workstationType"], "not": {"required": ["logicalID"]}},
    ]});
}

/// Lets the optional properties of `schema` (not required, no default) be `null`.
fn nullable_when_optional(schema: &mut Value) {
    let required: Vec<Value> = schema["required"].as_array().cloned().unwrap_or_default();
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, property) in properties.iter_mut() {
        if required.iter().any(|r| r == name.as_str()) || property.get("default").is_some() {
            continue;
        }
        if let Some(reference) = property.get("$ref").cloned() {
            let description = property.get("description").cloned();
            *property = json!({"anyOf": [{"$ref": reference}, {"type": "null"}]});
            if let Some(description) = description {
                property["description"] = description;
            }
        } else if let Some(kind) = property.get("type").and_then(Value::as_str) {
            property["type"] = json!([kind, "null"]);
        }
    }
}
