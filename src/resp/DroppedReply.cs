// src/resp/DroppedReply.cs: CLIENT REPLY ON|OFF|SKIP, which a client uses to send many commands without reading
// their replies (Redis's test suite does, to check that pushes still come). A reply kept from the client is still
// made, by the same code, into a scratch buffer that is dropped; what is pushed (messages, the confirmations of
// SUBSCRIBE and its kin) goes out whatever the mode, as Redis sends it.

using System.Buffers;

namespace KV;

/// <summary>What CLIENT REPLY asks: every reply, none, or none for the next request.</summary>
public enum ReplyMode { On, Off, SkipNext }

/// <summary>
/// A reply nobody will receive (CLIENT REPLY's, the rest of an EXEC reply past the budget): written into one scratch
/// buffer, and dropped.
/// </summary>
public sealed class DroppedReply : IBufferWriter<byte>
{
    private byte[] scratch = new byte[4096];

    public void Advance(int count) { }

    public Memory<byte> GetMemory(int sizeHint = 0) =>
        scratch.Length >= Math.Max(sizeHint, 1) ? scratch : scratch = new byte[Math.Max(sizeHint, 2 * scratch.Length)];

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
}
