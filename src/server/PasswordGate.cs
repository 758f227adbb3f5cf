// src/server/PasswordGate.cs: the server's password (--password or KV_PASSWORD), checked the same way for both
// protocols: ConnectionAccess is one connection's side of it. Until a connection gives it, only the commands
// its protocol's table marks BeforeAuth are served (`auth`, `help`, `ping`, `exit`; RESP's AUTH, HELLO, PING, QUIT).
//
// The comparison is constant-time (of two SHA-256 digests, so that even the length does not show). Guessing
// is slowed per client address, not per connection, so that opening more connections buys no more guesses:
// each address has a few attempts at once, then a steady few a second, shared by all its connections. An
// attempt waits for its address's turn before it is checked (right or wrong, so the time of the answer tells
// nothing), without a thread; one that would wait too long is refused unchecked. A right password gives its
// turn back, so only wrong guesses use them up. Other addresses are not slowed.

using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace KV;

public sealed class PasswordGate
{
    /// <summary>The attempts an address may make at once, and then each second.</summary>
    public const int AttemptsPerSecond = 10;

    /// <summary>The longest an attempt waits for its turn; past it, refused unchecked.</summary>
    public static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(5);

    private static readonly long Interval = TimeSpan.TicksPerSecond / AttemptsPerSecond;

    private readonly byte[]? digest;
    private readonly ConnectionAccess open;
    private readonly TimeProvider time;
    private readonly Lock turnsGate = new();
    private readonly Dictionary<IPAddress, long> nextTurn = [];
    private int pruneAbove = 1024;

    public PasswordGate(string? password, TimeProvider? time = null)
    {
        digest = password is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(password));
        this.time = time ?? TimeProvider.System;
        open = new ConnectionAccess(this, IPAddress.None);
    }

    public bool Required => digest is not null;

    /// <summary>
    /// A new connection's side of the gate. Without a password it has no state, so every connection shares one.
    /// </summary>
    public ConnectionAccess NewConnection(IPAddress address) => Required ? new ConnectionAccess(this, address) : open;

    public bool Admits(ReadOnlySpan<byte> attempt) =>
        digest is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(attempt), digest);

    /// <summary>
    /// Takes the address's next turn: how long the attempt must wait for it (zero: at once), or null when that
    /// would be longer than LongestWait (no turn is taken).
    /// </summary>
    public TimeSpan? TakeTurn(IPAddress address)
    {
        var now = (long)(time.GetTimestamp() * ((double)TimeSpan.TicksPerSecond / time.TimestampFrequency));
        lock (turnsGate)
        {
            // A burst of AttemptsPerSecond at once: a turn is free when it is no further ahead than that many
            // intervals.
            var turn = Math.Max(nextTurn.GetValueOrDefault(address), now - (AttemptsPerSecond - 1) * Interval);
            var wait = TimeSpan.FromTicks(Math.Max(0, turn - now));
            if (wait > LongestWait) return null;
            nextTurn[address] = turn + Interval;
            if (nextTurn.Count > pruneAbove) Prune(now);
            return wait;
        }
    }

    /// <summary>A right password gives its turn back: only wrong guesses use up an address's turns.</summary>
    public void ReturnTurn(IPAddress address)
    {
        lock (turnsGate)
            if (nextTurn.TryGetValue(address, out var turn)) nextTurn[address] = turn - Interval;
    }

    /// <summary>
    /// Forgets the addresses whose turns are all free again; the table stays about as large as the addresses guessing
    /// now.
    /// </summary>
    private void Prune(long now)
    {
        foreach (var (address, turn) in nextTurn)
            if (turn <= now - (AttemptsPerSecond - 1) * Interval) nextTurn.Remove(address);
        pruneAbove = Math.Max(1024, nextTurn.Count * 2);
    }
}

public enum AuthResult { NoPassword, Admitted, Refused, TooManyAttempts }

/// <summary>
/// One connection's side of the gate, the same for both protocols: whether it has given the password.
/// </summary>
public sealed class ConnectionAccess(PasswordGate gate, IPAddress address)
{
    public bool Authenticated { get; private set; } = !gate.Required;

    /// <summary>
    /// Checks a password when its address's turn comes (at once, unless the address has been guessing).
    /// `knownUser` is false for a RESP user other than `default`, which is refused the same way.
    /// </summary>
    public async ValueTask<AuthResult> TryAsync(ReadOnlyMemory<byte> password, bool knownUser, CancellationToken cancel)
    {
        if (!gate.Required) return AuthResult.NoPassword;
        if (gate.TakeTurn(address) is not { } wait) return AuthResult.TooManyAttempts;
        if (wait > TimeSpan.Zero) await Task.Delay(wait, cancel);
        if (!knownUser || !gate.Admits(password.Span)) return AuthResult.Refused;
        gate.ReturnTurn(address);
        Authenticated = true;
        return AuthResult.Admitted;
    }
}
