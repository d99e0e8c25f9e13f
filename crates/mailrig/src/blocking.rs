//! A blocking facade over [`crate::Rig`] for synchronous tests: it owns a small tokio runtime.

use std::net::SocketAddr;
use std::time::Duration;

use mailrig_store::{Envelope, Message, Store};
use mailrig_transcript::Transcript;

use crate::rig::{RigBuilder, RigError};

/// Fake mail servers for synchronous code.
///
/// ```
/// use std::io::{BufRead, BufReader, Write};
/// use std::time::Duration;
///
/// let rig = mailrig::blocking::Rig::start(mailrig::Rig::builder()).unwrap();
/// let mut smtp = BufReader::new(std::net::TcpStream::connect(rig.smtp_addr()).unwrap());
/// let mut greeting = String::new();
/// smtp.read_line(&mut greeting).unwrap();
/// assert!(greeting.starts_with("220 "));
/// smtp.get_mut().write_all(b"HELO me\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n").unwrap();
/// let mail = rig.wait_for_message(|_| true, Duration::from_secs(5)).unwrap();
/// assert_eq!(&*mail.data, b"hi\r\n");
/// ```
#[derive(Debug)]
pub struct Rig {
    runtime: tokio::runtime::Runtime,
    rig: Option<crate::Rig>,
}

impl Rig {
    /// Starts the servers configured by `builder`.
    pub fn start(builder: RigBuilder) -> Result<Rig, RigError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| RigError::Server(e.into()))?;
        let rig = runtime.block_on(builder.start())?;
        Ok(Rig {
            runtime,
            rig: Some(rig),
        })
    }

    fn rig(&self) -> &crate::Rig {
        self.rig.as_ref().expect("the rig lives until drop")
    }

    /// See [`crate::Rig::smtp_addr`].
    pub fn smtp_addr(&self) -> SocketAddr {
        self.rig().smtp_addr()
    }

    /// See [`crate::Rig::submission_addr`].
    pub fn submission_addr(&self) -> SocketAddr {
        self.rig().submission_addr()
    }

    /// See [`crate::Rig::smtps_addr`].
    pub fn smtps_addr(&self) -> SocketAddr {
        self.rig().smtps_addr()
    }

    /// See [`crate::Rig::addr`].
    ///
    /// # Panics
    ///
    /// When the service is not running (a test bug).
    pub fn addr(&self, service: crate::Protocol) -> SocketAddr {
        self.rig().addr(service)
    }

    /// See [`crate::Rig::imap_addr`].
    pub fn imap_addr(&self) -> SocketAddr {
        self.rig().imap_addr()
    }

    /// See [`crate::Rig::imaps_addr`].
    pub fn imaps_addr(&self) -> SocketAddr {
        self.rig().imaps_addr()
    }

    /// See [`crate::Rig::ca_pem`].
    pub fn ca_pem(&self) -> Option<&str> {
        self.rig().ca_pem()
    }

    /// See [`crate::Rig::store`].
    pub fn store(&self) -> &Store {
        self.rig().store()
    }

    /// See [`crate::Rig::messages`].
    pub fn messages(&self, login: &str) -> Vec<Message> {
        self.rig().messages(login)
    }

    /// See [`crate::Rig::wait_for_message`].
    pub fn wait_for_message<P>(&self, predicate: P, timeout: Duration) -> Result<Envelope, RigError>
    where
        P: Fn(&Envelope) -> bool,
    {
        self.runtime
            .block_on(self.rig().wait_for_message(predicate, timeout))
    }

    /// See [`crate::Rig::transcript`].
    pub fn transcript(&self) -> Transcript {
        self.rig().transcript()
    }

    /// See [`crate::Rig::redacted_transcript`].
    pub fn redacted_transcript(&self) -> String {
        self.rig().redacted_transcript()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if let Some(rig) = self.rig.take() {
            self.runtime.block_on(rig.stop());
        }
    }
}
