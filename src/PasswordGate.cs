// src/PasswordGate.cs: the server's password (--password or KV_PASSWORD), checked the same way for both
// protocols. Until a connection gives it, only `auth`, `help`, `ping` and `exit` are served.
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

    public bool Required => digest is not null;

    public bool Admits(ReadOnlySpan<byte> attempt) =>
        digest is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(attempt), digest);
}
