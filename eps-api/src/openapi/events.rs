//! `EventMessage` as a generated client can read it: each event schema names itself in its
//! `event` property, and the union is a `oneOf` of those schemas with a discriminator on `event`.
//! (utoipa renders the internally tagged enum as `allOf` pairs, which generators cannot tell
//! apart.)

use serde_json::{Map, Value, json};

/// The union's name in `components.schemas`.
const UNION: &str = "EventMessage";

/// Rewrites `EventMessage` and the schemas it is made of.
pub(super) fn discriminate(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    let Some(variants) = schemas
        .get(UNION)
        .and_then(|union| union["oneOf"].as_array())
        .map(|variants| variants.iter().filter_map(variant).collect::<Vec<_>>())
    else {
        return;
    };
    let mut mapping = Map::new();
    let mut one_of = Vec::new();
    for (reference, event, description) in variants {
        let name = reference
            .trim_start_matches("#/components/schemas/")
            .to_owned();
        if let Some(schema) = schemas.get_mut(&name) {
            name_the_event(schema, &event, &description);
        }
        mapping.insert(event, Value::String(reference.clone()));
        one_of.push(json!({"$ref": reference}));
    }
    let description = schemas[UNION]["description"].clone();
    schemas.insert(
        UNION.to_owned(),
        json!({
            "description": description,
            "oneOf": one_of,
            "discriminator": {"propertyName": "event", "mapping": mapping},
        }),
    );
}

/// `(schema reference, event name, description)` of one `allOf` variant utoipa rendered.
fn variant(value: &Value) -> Option<(String, String, String)> {
    let parts = value["allOf"].as_array()?;
    let reference = parts.iter().find_map(|p| p["$ref"].as_str())?.to_owned();
    let event = parts
        .iter()
        .find_map(|p| p["properties"]["event"]["enum"][0].as_str())?
        .to_owned();
    let description = value["description"].as_str().unwrap_or_default().to_owned();
    Some((reference, event, description))
}

/// Adds the required `event` property, whose only value is `event`, to one event's schema.
fn name_the_event(schema: &mut Value, event: &str, description: &str) {
    let property = json!({
        "type": "string",
        "enum": [event],
        "description": format!("`{event}`. {description}"),
    });
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert("event".to_owned(), property);
    }
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut)
        && !required.iter().any(|r| r == "event")
    {
        required.insert(0, Value::String("event".to_owned()));
    }
}
