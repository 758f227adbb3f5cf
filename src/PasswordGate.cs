// src/PasswordGate.cs: the server's password (--password or KV_PASSWORD), checked the same way for both
// protocols: ConnectionAccess is one connection's side of it. Until a connection gives it, only `auth`,
// `help`, `ping` and `exit` are served.
//
// The comparison is constant-time (of two SHA-256 digests, so that even the length does not show), and a
// wrong password costs its connection a delay before the reply, so guessing is slow.

using System.Security.Cryptography;
using System.Text;

namespace KV;

public sealed class PasswordGate(string? password)
{
    public static readonly TimeSpan WrongPasswordDelay = TimeSpan.FromMilliseconds(250);

    private readonly byte[]? digest = password is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(password));

    private ConnectionAccess? open;

    public bool Required => digest is not null;

    /// <summary>A new connection's side of the gate. Without a password it has no state, so every connection shares one.</summary>
    public ConnectionAccess NewConnection() => Required ? new ConnectionAccess(this) : open ??= new ConnectionAccess(this);

    public bool Admits(ReadOnlySpan<byte> attempt) =>
        digest is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(attempt), digest);
}

public enum AuthResult { NoPassword, Admitted, Refused }

/// <summary>One connection's side of the gate, the same for both protocols: whether it has given the password,
/// and the delay a wrong one costs, which its conversation takes before the refusal is sent.</summary>
public sealed class ConnectionAccess(PasswordGate gate)
{
    private TimeSpan pause;

    public bool Authenticated { get; private set; } = !gate.Required;

    /// <summary>Checks a password; `knownUser` is false for a RESP user other than `default`, which is refused the same way.</summary>
    public AuthResult Try(ReadOnlySpan<byte> password, bool knownUser = true)
    {
        if (!gate.Required) return AuthResult.NoPassword;
        if (knownUser && gate.Admits(password))
        {
            Authenticated = true;
            return AuthResult.Admitted;
        }
        pause = PasswordGate.WrongPasswordDelay;
        return AuthResult.Refused;
    }

    public TimeSpan TakePause()
    {
        var taken = pause;
        pause = TimeSpan.Zero;
        return taken;
    }
}
