// src/types/Varint.cs: feature: the variable-length integers the packed structures (lists, hashes, sets, sorted
// sets) write their lengths in: seven bits a byte, the lowest first, the top bit set on every byte but the last, so
// that a length under 128 costs one byte.

namespace KV;

internal static class Varint
{
    public static int Size(uint value)
    {
        var size = 1;
        for (var v = value; v >= 0x80; v >>= 7) size++;
        return size;
    }

    public static int Size(int value) => Size((uint)value);

    /// <summary>Writes the value at the span's start; how many bytes it took.</summary>
    public static int Write(Span<byte> into, uint value)
    {
        var at = 0;
        for (; value >= 0x80; value >>= 7) into[at++] = (byte)(value | 0x80);
        into[at++] = (byte)value;
        return at;
    }

    /// <summary>The value at the span's start, and how many bytes it took.</summary>
    public static uint Read(ReadOnlySpan<byte> from, out int read)
    {
        var value = 0u;
        read = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = from[read++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
    }
}
