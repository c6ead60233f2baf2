//! Resource handles: `client.chat()`, `client.completions()`, `client.embeddings()`,
//! `client.models()`, `client.responses()`, `client.raw()`. Shared source for both modes;
//! every method is `async` in async mode.

pub mod chat;
pub mod completions;
pub mod embeddings;
pub mod models;
pub mod raw;
pub mod responses;
pub mod vllm;

/// Declares a resource handle: a borrowed client plus optional per-call options.
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name<'c> {
            client: &'c crate::Client,
            options: Option<crate::RequestOptions>,
        }

        impl<'c> $name<'c> {
            pub(crate) fn new(client: &'c crate::Client) -> Self {
                $name { client, options: None }
            }

            /// Applies `options` (timeout, retries, extra headers, query, body) to the calls
            /// made through this handle, on top of the client's.
            pub fn with_options(mut self, options: crate::RequestOptions) -> Self {
                self.options = Some(match self.options.take() {
                    Some(o) => o.merged(&options),
                    None => options,
                });
                self
            }
        }
    };
}
pub(crate) use handle;
