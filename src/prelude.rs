//! The names most programs use, in one import:
//!
//! ```
//! use oai_compat::prelude::*;
//!
//! let req = ChatCompletionRequest::new("my-model", [Message::user("Hi")])
//!     .temperature(0.2)
//!     .max_tokens(64);
//! # let _ = req;
//! ```
//!
//! It holds the client, the router, the error, per-call options and the request types with
//! their messages and formats; everything else is in [`crate::types`] and the crate root.
//! `Result` is left out so that a glob import never shadows the standard one.

pub use crate::types::{
    ChatCompletionRequest, CompletionRequest, EmbeddingRequest, Message, ResponseFormat,
    ResponseRequest, StreamOptions, Tool,
};
pub use crate::{Client, ClientBuilder, Error, RequestOptions, Router};
