// src/BufferPool.cs: the blocks every connection's pipes read into and write from, reused rather than left
// to the garbage collector.
//
// A client that holds a megabyte for seconds holds it long enough for the GC to move it to its oldest
// generation, which it collects only now and then: 600 such clients closed one after another would leave
// hundreds of megabytes of garbage behind, and the resident memory would follow the garbage, not the
// clients' budget. Returned blocks wait here for the next read instead, up to a cap (the clients' budget),
// so the blocks that exist at once are about what the clients hold at most.

using System.Buffers;
using System.Collections.Concurrent;

namespace KV;

/// <param name="retainBytes">How much free memory the pool keeps for reuse; what is returned beyond it goes to the GC.</param>
public sealed class BufferPool(long retainBytes) : MemoryPool<byte>
{
    public const int BlockSize = 4096;

    private readonly ConcurrentStack<byte[]> free = new();
    private long retained;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize) return new Block(this, GC.AllocateUninitializedArray<byte>(minBufferSize));
        if (free.TryPop(out var array))
        {
            Interlocked.Add(ref retained, -BlockSize);
            return new Block(this, array);
        }
        return new Block(this, GC.AllocateUninitializedArray<byte>(BlockSize));
    }

    private void Return(byte[] array)
    {
        if (array.Length != BlockSize) return;
        if (Interlocked.Add(ref retained, BlockSize) <= retainBytes) free.Push(array);
        else Interlocked.Add(ref retained, -BlockSize);
    }

    protected override void Dispose(bool disposing) => free.Clear();

    private sealed class Block(BufferPool pool, byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? owned = array;
        public Memory<byte> Memory => owned ?? throw new ObjectDisposedException(nameof(Block));
        public void Dispose()
        {
            if (Interlocked.Exchange(ref owned, null) is { } returned) pool.Return(returned);
        }
    }
}
