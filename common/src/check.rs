//! A check made before a call ([`Check`]): it looks at a request, perhaps adds to its
//! extensions, and either passes it on or answers it at once. The token guard and the rate
//! limits are checks; [`CheckLayer`] puts one before a service, without a boxed future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::body::Body;
use tonic::server::NamedService;

/// A check made before a call: it passes the request on, perhaps with something added to
/// its extensions, or answers it at once.
pub trait Check: Clone {
    /// The answer to give instead of calling (a refusal), if any.
    fn refusal<B>(&self, request: &mut http::Request<B>) -> Option<http::Response<Body>>;
}

/// Runs `C` before the service it wraps.
#[derive(Clone, Debug)]
pub struct CheckLayer<C>(pub C);

impl<S, C: Check> tower::Layer<S> for CheckLayer<C> {
    type Service = Checked<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        Checked {
            inner,
            check: self.0.clone(),
        }
    }
}

/// A service behind a [`Check`].
#[derive(Clone, Debug)]
pub struct Checked<S, C> {
    inner: S,
    check: C,
}

impl<S: NamedService, C> NamedService for Checked<S, C> {
    const NAME: &'static str = S::NAME;
}

impl<S, C, B> tower::Service<http::Request<B>> for Checked<S, C>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
    C: Check,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Answer<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.check.refusal(&mut request) {
            None => Answer::Called {
                call: self.inner.call(request),
            },
            refusal @ Some(_) => Answer::Refused { refusal },
        }
    }
}

pin_project_lite::pin_project! {
    /// The answer of a [`Checked`] service: the call's, or the check's refusal.
    #[project = AnswerProj]
    pub enum Answer<F> {
        Called { #[pin] call: F },
        Refused { refusal: Option<http::Response<Body>> },
    }
}

impl<F, E> Future for Answer<F>
where
    F: Future<Output = Result<http::Response<Body>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AnswerProj::Called { call } => call.poll(cx),
            AnswerProj::Refused { refusal } => {
                Poll::Ready(Ok(refusal.take().expect("polled after it answered")))
            }
        }
    }
}
