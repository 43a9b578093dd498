use ampere_ocpp::CallError;
use serde_json::Value;

use crate::context::Ctx;

pub(crate) async fn dispatch(ctx: &Ctx<'_>) -> Option<Result<Value, CallError>> {
    let _ = ctx;
    None
}
