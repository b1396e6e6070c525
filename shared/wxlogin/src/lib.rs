//! Shared crate for WeChat Mini Program login on Tencent CloudBase, as SCF custom-runtime
//! `bootstrap` binaries.
//!
//! - [`runtime`]: the SCF runtime-API loop ([`run`]), modelled on `lambda_runtime`'s shape:
//!   a handler is a plain `async fn(Event, Context) -> Result<T, FnError>`.
//! - [`context`]: request id, deadline, instance facts; [`identity`]: the caller, only from
//!   platform-controlled channels; [`event`]: callFunction vs HTTP events, integrated responses.
//! - [`ticket`]: CloudBase custom-login tickets (node-sdk `auth().createTicket` compatible).
//! - [`wechat`]: the WeChat `sns/jscode2session` client.
//! - [`web`]: web mode (`--web`): the same handlers served over HTTP, for CloudBase HTTP functions.
//! - [`error`]: business errors ([`FnError`]) and runtime diagnostics; [`logging`]: tracing setup.

pub mod context;
pub mod error;
pub mod event;
pub mod identity;
pub mod logging;
pub mod runtime;
pub mod secret;
pub mod ticket;
pub mod web;
pub mod wechat;

pub use context::{Context, InstanceInfo};
pub use error::{Diagnostic, FnError};
pub use event::{Event, HttpEvent, IntegratedResponse};
pub use identity::{Identity, WxContext};
pub use runtime::run;
