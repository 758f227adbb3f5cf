// tests/ConnectionBufferTests.cs: unit tests of src/ConnectionBuffers.cs, the input and output buffers between a
// connection's socket and its protocol handler: requests across blocks, blocks given back, replies larger than
// a block, and a send the client is slow to take.

using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using KV;
using Xunit;

public class ConnectionBufferTests
{
    private static void Receive(InputBuffer input, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        while (bytes.Length > 0)
        {
            var space = input.FreeSpace();
            var count = Math.Min(space.Length, bytes.Length);
            bytes.AsSpan(0, count).CopyTo(space.Span);
            input.Received(count);
            bytes = bytes[count..];
        }
    }

    [Fact]
    public void A_request_across_blocks_reads_whole_and_answered_blocks_go_back_to_the_pool()
    {
        var pool = new BufferPool(retainBytes: 1 << 20);
        var input = new InputBuffer(pool);
        var value = new string('v', 3 * BufferPool.BlockSize);
        Receive(input, $"set k {value}\nget");
        Assert.Equal(4 * BufferPool.BlockSize, input.Footprint);

        var buffer = input.Unanswered;
        Assert.True(LineFraming.TryReadRequest(ref buffer, out var line));
        Assert.Equal($"set k {value}", Encoding.ASCII.GetString(line.ToArray()));
        input.Consume(buffer.Start);
        // The three blocks the line filled are back; the last holds "get", unanswered, and more may follow it.
        Assert.Equal(3, pool.FreeBlocks);
        Assert.Equal("get", Encoding.ASCII.GetString(input.Unanswered.ToArray()));
        Assert.False(input.IsEmpty);

        Receive(input, " k\n");
        buffer = input.Unanswered;
        Assert.True(LineFraming.TryReadRequest(ref buffer, out line));
        Assert.Equal("get k", Encoding.ASCII.GetString(line.ToArray()));
        input.Consume(buffer.Start);
        Assert.True(input.IsEmpty);
        Assert.Equal(0, input.Footprint);
        Assert.Equal(4, pool.FreeBlocks);
    }

    [Fact]
    public async Task Replies_larger_than_a_block_and_a_slow_reader_arrive_whole_and_in_order()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        // Small socket buffers, so that what the kernel takes without a reader is far less than the replies.
        using var reader = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 16 * 1024 };
        var accepting = listener.AcceptAsync();
        await reader.ConnectAsync(listener.LocalEndPoint!);
        using var server = await accepting;
        server.Blocking = false;
        server.SendBufferSize = 16 * 1024;

        var pool = new BufferPool(retainBytes: 1 << 20);
        var output = new OutputBuffer(pool);
        var expected = new StringBuilder();
        for (var i = 0; i < 2_000; i++)
        {
            // The first thousand small replies fill pool blocks one after another; after them every tenth is larger than
            // a block on its own (a megabyte in all).
            var reply = i >= 1_000 && i % 10 == 0 ? $"VALUE {new string((char)('a' + i % 26), 10_000)}" : $"reply {i}";
            LineFraming.WriteLine(output, Encoding.ASCII.GetBytes(reply));
            expected.Append(reply).Append('\n');
        }
        Assert.Equal(expected.Length, output.Unsent);

        // Far more than the socket's buffers hold while nobody reads: the non-blocking send stops part way.
        Assert.False(output.TrySend(server));
        var reading = Task.Run(async () =>
        {
            var received = new MemoryStream();
            var chunk = new byte[65536];
            while (received.Length < expected.Length) received.Write(chunk, 0, await reader.ReceiveAsync(chunk));
            return Encoding.ASCII.GetString(received.ToArray());
        });
        await output.SendRestAsync(server, TestContext.Current.CancellationToken);
        Assert.Equal(expected.ToString(), await reading);
        Assert.Equal(0, output.Unsent);
        Assert.InRange(pool.FreeBlocks, 3, int.MaxValue);
    }
}
