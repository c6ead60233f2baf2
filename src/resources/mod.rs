//! Resource handles: `client.chat()`, `client.completions()`, `client.embeddings()`,
//! `client.models()`, `client.responses()`, `client.audio()`, `client.files()`,
//! `client.batches()`, `client.raw()`. Shared source for both modes; every method is `async`
//! in async mode.

pub(crate) mod audio;
pub(crate) mod batches;
pub(crate) mod chat;
pub(crate) mod completions;
pub(crate) mod embeddings;
pub(crate) mod files;
pub(crate) mod models;
mod pager;
pub(crate) mod raw;
pub(crate) mod responses;
pub(crate) mod vllm;

pub use audio::Audio;
pub use batches::Batches;
pub use chat::Chat;
pub use completions::Completions;
pub use embeddings::Embeddings;
pub use files::Files;
pub use models::Models;
pub use raw::Raw;
pub use responses::Responses;
pub use vllm::Vllm;
// The stream types (`ChatCompletionStream` ...) are exported at the crate root only.

/// Declares a resource handle: the client's engine plus the options of its calls (the
/// client's, borrowed, until `with_options` adds some).
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name<'c> {
            /// Also read by the helpers built on the handles (the tool loop redacts its
            /// errors with the engine's key).
            pub(crate) engine: &'c crate::call::Engine,
            options: std::borrow::Cow<'c, crate::RequestOptions>,
        }

        impl std::fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("base_url", &self.engine.config.base_url)
                    .field("options", &self.options)
                    .finish()
            }
        }

        impl<'c> $name<'c> {
            pub(crate) fn new(
                engine: &'c crate::call::Engine,
                options: &'c crate::RequestOptions,
            ) -> Self {
                $name {
                    engine,
                    options: std::borrow::Cow::Borrowed(options),
                }
            }

            /// Applies `options` (timeout, retries, extra headers, query, body) to the calls
            /// made through this handle, on top of the client's.
            pub fn with_options(mut self, options: crate::RequestOptions) -> Self {
                self.options = std::borrow::Cow::Owned(self.options.merged(&options));
                self
            }
        }
    };
}
pub(crate) use handle;
