// src/store/StoredPair.cs: one pair as a PairTable lays it out in an array: [key length and flags: 2][value length: 4]
// [key][value]. The flags are the key length's top three bits: a deadline (Deadlines.cs keeps when), a handle to an
// object instead of a string (KeyValueStore.Objects.cs), and a use since eviction last looked at the pair.

using System.Buffers.Binary;

namespace KV;

/// <summary>One stored pair: where its bytes are. Valid until the table next changes.</summary>
public readonly record struct StoredPair(byte[] Slab, int Offset)
{
    public const int HeaderBytes = 6;

    /// <summary>
    /// The key length's top bit: this pair has a deadline (a key is at most 1,024 bytes, far below it).
    /// </summary>
    internal const ushort DeadlineFlag = 0x8000;

    /// <summary>
    /// The next bit: the value is not a string but a handle to an object of a feature's kind (KeyValueStore.Objects).
    /// </summary>
    internal const ushort ObjectFlag = 0x4000;

    /// <summary>
    /// The third: the pair was used since eviction last looked at it (a second chance under an LRU policy). A pair
    /// is written with it set, and every lookup that finds the pair sets it again.
    /// </summary>
    internal const ushort UsedFlag = 0x2000;

    internal const ushort Flags = DeadlineFlag | ObjectFlag | UsedFlag;

    internal ushort Header => BinaryPrimitives.ReadUInt16LittleEndian(Slab.AsSpan(Offset));
    public int KeyLength => Header & ~Flags;
    public bool HasDeadline => (Header & DeadlineFlag) != 0;
    public bool HoldsObject => (Header & ObjectFlag) != 0;
    public bool Used => (Header & UsedFlag) != 0;

    /// <summary>Sets or clears header bits in place (a deadline given or taken, a use seen).</summary>
    internal void Mark(ushort flag, bool on) => BinaryPrimitives.WriteUInt16LittleEndian(Slab.AsSpan(Offset),
        (ushort)(on ? Header | flag : Header & ~flag));
    public int ValueLength => BinaryPrimitives.ReadInt32LittleEndian(Slab.AsSpan(Offset + 2));
    public int Size => HeaderBytes + KeyLength + ValueLength;
    public ReadOnlySpan<byte> KeySpan => Slab.AsSpan(Offset + HeaderBytes, KeyLength);
    public ReadOnlyMemory<byte> Value => Slab.AsMemory(Offset + HeaderBytes + KeyLength, ValueLength);

    /// <summary>Writes a pair at `offset`; `Size` bytes must be free there.</summary>
    public static StoredPair Write(byte[] slab, int offset, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value,
        bool hasDeadline = false, bool holdsObject = false)
    {
        WriteHeader(slab, offset, key.Length, value.Length, hasDeadline, holdsObject);
        key.CopyTo(slab.AsSpan(offset + HeaderBytes));
        value.CopyTo(slab.AsSpan(offset + HeaderBytes + key.Length));
        return new StoredPair(slab, offset);
    }

    /// <summary>Writes a pair's header at `offset`, marked as used.</summary>
    public static void WriteHeader(byte[] slab, int offset, int keyLength, int valueLength, bool hasDeadline,
        bool holdsObject)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(slab.AsSpan(offset),
            (ushort)(keyLength | UsedFlag | (hasDeadline ? DeadlineFlag : 0) | (holdsObject ? ObjectFlag : 0)));
        BinaryPrimitives.WriteInt32LittleEndian(slab.AsSpan(offset + 2), valueLength);
    }
}
