//! What the built-in answers of every endpoint share: vLLM's error replies, the model check.

use serde_json::json;

use super::{Reply, Shared, lock};

/// vLLM's 400, with the parameter at fault.
pub(super) fn bad_request(message: &str, param: Option<&str>) -> Reply {
    let body = json!({
        "error": {"message": message, "type": "BadRequestError", "param": param, "code": 400}
    });
    Reply::json(400, body.to_string())
}

/// The 400 of a request without the required `param`.
pub(super) fn missing(param: &str) -> Reply {
    bad_request(
        &format!("Missing required parameter: '{param}'."),
        Some(param),
    )
}

fn model_not_found(model: &str) -> Reply {
    let body = json!({
        "error": {
            "message": format!("The model `{model}` does not exist."),
            "type": "NotFoundError",
            "param": "model",
            "code": 404,
        }
    });
    Reply::json(404, body.to_string())
}

/// `Ok` for a model the server knows ([`MockServer::set_models`](super::MockServer::set_models)),
/// else vLLM's 404.
pub(super) fn check_model(shared: &Shared, model: &str) -> Result<(), Reply> {
    if lock(&shared.models).iter().any(|m| m == model) {
        Ok(())
    } else {
        Err(model_not_found(model))
    }
}
