//! `oai respond`: the Responses API.

use crate::args::{Global, RespondArgs};
use crate::fail::Failure;

pub fn run(_g: &Global, _a: &RespondArgs) -> Result<(), Failure> {
    Err(Failure::error("oai respond: in progress"))
}
