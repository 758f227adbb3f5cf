// src/server/BufferPool.cs: the blocks every connection reads into and writes from, reused rather than left to the
// garbage collector.
//
// A client that holds a megabyte for seconds holds it long enough for the GC to move it to its oldest
// generation, which it collects only now and then: hundreds of such clients closed one after another would
// leave hundreds of megabytes of garbage behind, and the resident memory would follow the garbage, not the
// clients' budget. Returned blocks wait here for the next read instead, up to a cap (the clients' budget),
// so the blocks that exist at once are about what the clients hold at most. A connection takes a block
// only while it has bytes to hold: an idle one holds none.

using System.Buffers;
using System.Collections.Concurrent;

namespace KV;

/// <param name="retainBytes">How much free memory the pool keeps for reuse; what is returned beyond it goes to the
/// GC.</param>
public sealed class BufferPool(long retainBytes)
{
    public const int BlockSize = 4096;

    // A queue, not a stack: ConcurrentStack allocates a node for every push, the queue reuses its segments.
    private readonly ConcurrentQueue<byte[]> free = new();
    private long retained;

    /// <summary>Blocks waiting here for reuse.</summary>
    public int FreeBlocks => free.Count;

    /// <summary>
    /// A block of BlockSize bytes. A request for more (one reply of a large value) gets an array from .NET's shared
    /// pool, at least twice a block, so that Return can tell the two apart by their length.
    /// </summary>
    public byte[] Rent(int minimumBytes = BlockSize)
    {
        if (minimumBytes > BlockSize) return ArrayPool<byte>.Shared.Rent(Math.Max(minimumBytes, 2 * BlockSize));
        if (free.TryDequeue(out var block))
        {
            Interlocked.Add(ref retained, -BlockSize);
            return block;
        }
        return GC.AllocateUninitializedArray<byte>(BlockSize);
    }

    /// <summary>Lets go of the free blocks beyond `keepBytes`: the GC's to collect.</summary>
    public void Trim(long keepBytes)
    {
        while (Volatile.Read(ref retained) > keepBytes && free.TryDequeue(out _)) Interlocked.Add(ref retained,
            -BlockSize);
    }

    public void Return(byte[] block)
    {
        if (block.Length != BlockSize)
        {
            ArrayPool<byte>.Shared.Return(block);
            return;
        }
        if (Interlocked.Add(ref retained, BlockSize) <= retainBytes) free.Enqueue(block);
        else Interlocked.Add(ref retained, -BlockSize);
    }
}
