//! Delivery: the [`Sender`] trait (and its async twin [`AsyncSender`]) that a service implements
//! over its SMS, voice or e-mail provider, and two senders of our own for tests, examples and
//! demos.

use core::fmt;
use core::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::DeliveryError;
use crate::message::Message;

/// Delivers a message (blocking): a service plugs in its provider (Twilio, Amazon SNS, an SMTP
/// relay …).
///
/// An implementation must not log the message [body](Message::body) or put it into its error:
/// it holds the code.
pub trait Sender: Send + Sync {
    /// Delivers `message` to [`message.to()`](Message::to) over
    /// [`message.channel()`](Message::channel).
    ///
    /// # Errors
    /// [`DeliveryError`] when the provider refused or could not be reached.
    fn send(&self, message: &Message) -> Result<(), DeliveryError>;
}

/// The async twin of [`Sender`], for providers reached over async I/O. Futures are `Send`.
pub trait AsyncSender: Send + Sync {
    /// Delivers `message`, as [`Sender::send`].
    ///
    /// # Errors
    /// [`DeliveryError`] when the provider refused or could not be reached.
    fn send(&self, message: &Message) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

impl<S: Sender + ?Sized> Sender for &S {
    fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        (**self).send(message)
    }
}

impl<S: Sender + ?Sized> Sender for Arc<S> {
    fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        (**self).send(message)
    }
}

impl<S: AsyncSender + ?Sized> AsyncSender for &S {
    fn send(&self, message: &Message) -> impl Future<Output = Result<(), DeliveryError>> + Send {
        (**self).send(message)
    }
}

impl<S: AsyncSender + ?Sized> AsyncSender for Arc<S> {
    fn send(&self, message: &Message) -> impl Future<Output = Result<(), DeliveryError>> + Send {
        (**self).send(message)
    }
}

/// A blocking [`Sender`] seen as an [`AsyncSender`] whose futures are ready at once: how the
/// helpers written once against `AsyncSender` serve blocking callers.
pub(crate) struct BlockingSender<'a, S: ?Sized>(pub(crate) &'a S);

impl<S: Sender + ?Sized> AsyncSender for BlockingSender<'_, S> {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        self.0.send(message)
    }
}

/// Keeps every message instead of sending it: for tests (read the code a user would have
/// received with [`last`](Self::last)) and for services under test.
///
/// It can be told to fail ([`fail_next`](Self::fail_next)) to exercise delivery errors. `Debug`
/// shows the count only.
#[derive(Default)]
pub struct InMemorySender {
    state: Mutex<InMemoryState>,
}

#[derive(Default)]
struct InMemoryState {
    messages: Vec<Message>,
    failures_to_inject: usize,
}

impl InMemorySender {
    /// An empty sender.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message delivered so far, oldest first.
    #[must_use]
    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    /// The most recent message.
    #[must_use]
    pub fn last(&self) -> Option<Message> {
        self.lock().messages.last().cloned()
    }

    /// How many messages were delivered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().messages.len()
    }

    /// Whether nothing was delivered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every message delivered so far.
    pub fn clear(&self) {
        self.lock().messages.clear();
    }

    /// Makes the next `count` deliveries fail (and not be kept).
    pub fn fail_next(&self, count: usize) {
        self.lock().failures_to_inject = count;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InMemoryState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deliver(&self, message: &Message) -> Result<(), DeliveryError> {
        let mut state = self.lock();
        if state.failures_to_inject > 0 {
            state.failures_to_inject = state.failures_to_inject.saturating_sub(1);
            return Err(DeliveryError::new("injected delivery failure"));
        }
        state.messages.push(message.clone());
        Ok(())
    }
}

impl fmt::Debug for InMemorySender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemorySender")
            .field("messages", &self.len())
            .finish_non_exhaustive()
    }
}

impl Sender for InMemorySender {
    fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        self.deliver(message)
    }
}

impl AsyncSender for InMemorySender {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        self.deliver(message)
    }
}

/// Prints each message to a writer (standard output by default), as the phone would show it:
/// for the command line, examples and demos. The destination is printed masked; the body
/// (with the code) in full: that is the point of this sender, so never use it in production.
///
/// ```
/// use mfa_oob::{Channel, ConsoleSender, Destination, Message, PhoneNumber, Sender};
///
/// let console = ConsoleSender::new(Vec::new());
/// let to = Destination::Phone(PhoneNumber::parse("+44 7911 123456", None)?);
/// console.send(&Message::notice(Channel::Sms, to, None, "Hello")?)?;
/// let printed = String::from_utf8(console.into_inner())?;
/// assert_eq!(printed, "--- sms to +44 ••• ••• ••56 ---\nHello\n---\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ConsoleSender<W> {
    out: Mutex<W>,
}

impl ConsoleSender<std::io::Stdout> {
    /// A sender that prints to standard output.
    #[must_use]
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }
}

impl<W: Write + Send> ConsoleSender<W> {
    /// A sender that prints to `out`.
    pub fn new(out: W) -> Self {
        Self {
            out: Mutex::new(out),
        }
    }

    /// The writer back (for tests that print into a buffer).
    pub fn into_inner(self) -> W {
        self.out
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn print(&self, message: &Message) -> Result<(), DeliveryError> {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let mut write = || -> std::io::Result<()> {
            writeln!(
                out,
                "--- {} to {} ---",
                message.channel(),
                message.to().masked()
            )?;
            if let Some(subject) = message.subject() {
                writeln!(out, "Subject: {subject}")?;
            }
            writeln!(out, "{}", message.body())?;
            writeln!(out, "---")?;
            out.flush()
        };
        write().map_err(DeliveryError::new)
    }
}

impl<W> fmt::Debug for ConsoleSender<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleSender").finish_non_exhaustive()
    }
}

impl<W: Write + Send> Sender for ConsoleSender<W> {
    fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        self.print(message)
    }
}

impl<W: Write + Send> AsyncSender for ConsoleSender<W> {
    async fn send(&self, message: &Message) -> Result<(), DeliveryError> {
        self.print(message)
    }
}
