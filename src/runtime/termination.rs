//! Why and where a session ended: haproxy's termination state (configuration.txt §8.5),
//! typed. Sessions, the queue and the forwarder set a [`Termination`]; the log renders
//! its two letters here and nowhere else.

/// What ended the session: the first letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Ended normally: `-`.
    Normal,
    /// The client aborted or failed: `C`.
    ClientAbort,
    /// The server aborted, refused or failed, or none was available: `S`.
    ServerAbort,
    /// The proxy refused it (a `tcp-request content reject`): `P`.
    Proxy,
    /// Ended from outside (hard stop, `shutdown sessions server`): `K`.
    Killed,
    /// Its server went DOWN (`on-marked-down shutdown-sessions`): `D`.
    Down,
    /// An active server came UP (`on-marked-up shutdown-backup-sessions`): `U`.
    Up,
    /// The proxy answered itself (a redirect): `L`.
    Local,
    /// An internal error (a `usesrc hdr_ip` address that cannot be had): `I`.
    Internal,
    /// `timeout client` struck: `c`.
    ClientTimeout,
    /// `timeout server`, `timeout connect` or `timeout queue` struck: `s`.
    ServerTimeout,
}

/// Where the session was when it ended: the second letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Ended normally: `-`.
    Normal,
    /// Waiting for (or inspecting) the client's first data: `R`.
    Request,
    /// Waiting in a queue for a server slot: `Q`.
    Queue,
    /// Connecting to the server: `C`.
    Connect,
    /// Waiting for the server's response headers (HTTP): `H`.
    Headers,
    /// Forwarding data: `D`.
    Data,
    /// Sending the last bytes of an HTTP answer to the client: `L`.
    Last,
    /// Held by a `tarpit` rule: `T`.
    Tarpit,
}

/// A cause at a phase: one termination state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Termination {
    /// What ended it.
    pub cause: Cause,
    /// Where it was.
    pub phase: Phase,
}

impl Termination {
    /// Both sides closed normally (`--`).
    pub const NORMAL: Termination = Termination::new(Cause::Normal, Phase::Normal);

    /// `cause` at `phase`.
    pub const fn new(cause: Cause, phase: Phase) -> Self {
        Termination { cause, phase }
    }

    /// haproxy's two letters.
    pub fn letters(self) -> [u8; 2] {
        let c = match self.cause {
            Cause::Normal => b'-',
            Cause::ClientAbort => b'C',
            Cause::ServerAbort => b'S',
            Cause::Proxy => b'P',
            Cause::Killed => b'K',
            Cause::Down => b'D',
            Cause::Up => b'U',
            Cause::Local => b'L',
            Cause::Internal => b'I',
            Cause::ClientTimeout => b'c',
            Cause::ServerTimeout => b's',
        };
        let p = match self.phase {
            Phase::Normal => b'-',
            Phase::Request => b'R',
            Phase::Queue => b'Q',
            Phase::Connect => b'C',
            Phase::Headers => b'H',
            Phase::Data => b'D',
            Phase::Last => b'L',
            Phase::Tarpit => b'T',
        };
        [c, p]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_are_haproxys() {
        let t = |c, p| Termination::new(c, p).letters();
        assert_eq!(&Termination::NORMAL.letters(), b"--");
        assert_eq!(&t(Cause::ServerAbort, Phase::Connect), b"SC");
        assert_eq!(&t(Cause::ServerTimeout, Phase::Queue), b"sQ");
        assert_eq!(&t(Cause::ClientAbort, Phase::Connect), b"CC");
        assert_eq!(&t(Cause::Proxy, Phase::Request), b"PR");
        assert_eq!(&t(Cause::Killed, Phase::Data), b"KD");
        assert_eq!(&t(Cause::ClientTimeout, Phase::Data), b"cD");
        assert_eq!(&t(Cause::Internal, Phase::Connect), b"IC");
    }
}
