//! Where a flow's client connects: mailrig's model servers ([`ModelServers`], started fresh
//! for each flow and TLS mode), or a replay of a `plays: server` scenario, which produces the
//! same [`Listeners`] (bound addresses and a CA) and hands back a transcript and its own
//! verdict when the client is done (`client::scripted`).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use mailrig_server::fault::Rule;
use mailrig_server::{Protocol, Server, ServerConfig, TlsSetting};
use mailrig_store::Store;
use mailrig_transcript::Transcript;

use crate::client::TlsMode;
use crate::suite::own_store;

/// The addresses a client is pointed at in one TLS mode, and the CA to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listeners {
    /// SMTP with AUTH for this mode: submission (`none`, `starttls`) or SMTPS (`tls`).
    pub smtp: Option<SocketAddr>,
    /// SMTP without AUTH required (port 25 style; plaintext, STARTTLS offered when TLS is on).
    pub relay: Option<SocketAddr>,
    /// IMAP for this mode: plain IMAP (`none`, `starttls`) or IMAPS (`tls`).
    pub imap: Option<SocketAddr>,
    /// The CA certificate (PEM) when TLS is on.
    pub ca_pem: Option<String>,
}

/// mailrig's model servers for one flow: the [`own_accounts`](crate::suite::own_accounts) (alice and bob, password
/// `secret`), every service on 127.0.0.1. In mode `none` TLS is off, so no STARTTLS is
/// offered and AUTH and LOGIN work in the clear; otherwise TLS is on and LOGIN needs it.
#[derive(Debug)]
pub struct ModelServers {
    server: Server,
    /// Where the client connects.
    pub listeners: Listeners,
}

impl ModelServers {
    /// Starts the servers for `mode`, misbehaving as `faults` say (random rules without a
    /// seed of their own get `fault_seed`, or 0).
    pub async fn start(
        mode: TlsMode,
        faults: &[Rule],
        fault_seed: Option<u64>,
    ) -> Result<ModelServers, String> {
        let store = own_store()?;
        let mut config = ServerConfig::loopback(store);
        config.faults = faults.to_vec();
        config.fault_seed = Some(fault_seed.unwrap_or(0));
        if mode == TlsMode::None {
            config.tls = TlsSetting::Off;
            let any = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            config.listeners = [Protocol::Smtp, Protocol::Submission, Protocol::Imap]
                .into_iter()
                .map(|s| (s, any))
                .collect();
        }
        let server = Server::start(config)
            .await
            .map_err(|e| format!("cannot start mailrig's servers: {e}"))?;
        let (smtp, imap) = match mode {
            TlsMode::Tls => (Protocol::Smtps, Protocol::Imaps),
            TlsMode::None | TlsMode::Starttls => (Protocol::Submission, Protocol::Imap),
        };
        let listeners = Listeners {
            smtp: server.addr(smtp),
            relay: server.addr(Protocol::Smtp),
            imap: server.addr(imap),
            ca_pem: server.ca_pem().map(str::to_owned),
        };
        Ok(ModelServers { server, listeners })
    }

    /// The store the servers share.
    pub fn store(&self) -> &Store {
        self.server.store()
    }

    /// Stops the servers (a short grace for sessions still closing) and returns every session
    /// recorded.
    pub async fn finish(self) -> Transcript {
        let recordings = self.server.recordings().clone();
        self.server.shutdown(Duration::from_millis(200)).await;
        recordings.transcript()
    }
}
