// tests/ConnectionBufferTests.cs: unit tests of src/server/ConnectionBuffers.cs, the input and output buffers between a
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

    /// <summary>
    /// A line that arrives in many reads is searched for its LF once: each read's search starts where the last one
    /// ended (searched from its start at every read, a 32 MB line took seconds of a core). Shown by an LF placed
    /// where a search already passed, which only a search from the start would find.
    /// </summary>
    [Fact]
    public void A_line_arriving_in_many_reads_is_searched_from_where_the_last_search_ended()
    {
        var input = new InputBuffer(new BufferPool(retainBytes: 1 << 20));
        long searched = 0;
        Receive(input, "set k " + new string('v', 2 * BufferPool.BlockSize));
        var buffer = input.Unanswered;
        Assert.False(LineFraming.TryReadRequest(ref buffer, out _, ref searched));
        Assert.Equal(buffer.Length, searched);
        // Written behind the search: not looked at again.
        var passed = input.Unanswered.Slice(10);
        MemoryMarshalWrite(passed, (byte)'\n');
        Receive(input, "vvv");
        buffer = input.Unanswered;
        Assert.False(LineFraming.TryReadRequest(ref buffer, out _, ref searched));
        Receive(input, "v\nget k\n");
        buffer = input.Unanswered;
        Assert.True(LineFraming.TryReadRequest(ref buffer, out var line, ref searched));
        Assert.Equal(6 + 2 * BufferPool.BlockSize + 4, line.Length);
        Assert.Equal(0, searched);
        Assert.True(LineFraming.TryReadRequest(ref buffer, out line, ref searched));
        Assert.Equal("get k", Encoding.ASCII.GetString(line.ToArray()));
    }

    /// <summary>KV's line handler keeps its search between reads: an LF behind it does not end the line.</summary>
    [Fact]
    public void The_line_handler_searches_a_line_arriving_in_many_reads_once()
    {
        var store = new KeyValueStore();
        var access = new ConnectionAccess(new PasswordGate(null), IPAddress.Loopback);
        var handler = new LineHandler(new ClientSession(store, new ReplyBudgetTests.NoServer(), access, null), 1 << 20);
        var input = new InputBuffer(new BufferPool(retainBytes: 1 << 20));
        var output = new ArrayBufferWriter<byte>();
        var value = new string('v', 2 * BufferPool.BlockSize);
        Receive(input, "set k " + value);
        var buffer = input.Unanswered;
        Assert.False(handler.TryAnswer(ref buffer, output, out _));
        MemoryMarshalWrite(input.Unanswered.Slice(10), (byte)'\n');
        Receive(input, "v\n");
        buffer = input.Unanswered;
        Assert.True(handler.TryAnswer(ref buffer, output, out _));
        Assert.Equal("OK\n", Encoding.ASCII.GetString(output.WrittenSpan));
        Assert.True(store.TryRead("k"u8, 0,
            static (read, _) => Assert.Equal(2 * BufferPool.BlockSize + 1, read.Length)));
    }

    /// <summary>Overwrites the first byte of a received sequence in place (its block is the buffer's own).</summary>
    private static void MemoryMarshalWrite(ReadOnlySequence<byte> at, byte value) =>
        System.Runtime.InteropServices.MemoryMarshal.AsMemory(at.First).Span[0] = value;

    [Fact]
    public async Task A_block_asked_for_and_left_empty_does_not_stop_the_send_of_what_follows()
    {
        using var sockets = await SocketPair.OpenAsync();
        var output = new OutputBuffer(new BufferPool(retainBytes: 1 << 20));
        output.GetSpan(10);
        LineFraming.WriteLine(output, Encoding.ASCII.GetBytes(new string('v', 10_000)));
        LineFraming.WriteLine(output, "OK"u8);
        Assert.True(output.TrySend(new NonBlockingSocket(sockets.Server)));
        Assert.Equal(0, output.Unsent);
        Assert.Equal(new string('v', 10_000) + "\nOK\n", await sockets.ReadAsync(10_004));
    }

    [Fact]
    public async Task Replies_larger_than_a_block_and_a_slow_reader_arrive_whole_and_in_order()
    {
        // Small socket buffers, so that what the kernel takes without a reader is far less than the replies.
        using var sockets = await SocketPair.OpenAsync(bufferBytes: 16 * 1024);
        var pool = new BufferPool(retainBytes: 1 << 20);
        var output = new OutputBuffer(pool);
        var expected = new StringBuilder();
        for (var i = 0; i < 2_000; i++)
        {
            // The first thousand small replies fill pool blocks one after another; after them every tenth is larger
            // than a block on its own (a megabyte in all).
            var reply = i >= 1_000 && i % 10 == 0 ? $"VALUE {new string((char)('a' + i % 26), 10_000)}" : $"reply {i}";
            LineFraming.WriteLine(output, Encoding.ASCII.GetBytes(reply));
            expected.Append(reply).Append('\n');
        }
        Assert.Equal(expected.Length, output.Unsent);

        // Far more than the socket's buffers hold while nobody reads: the non-blocking send stops part way.
        Assert.False(output.TrySend(new NonBlockingSocket(sockets.Server)));
        var reading = Task.Run(() => sockets.ReadAsync(expected.Length));
        await output.SendRestAsync(sockets.Server, TestContext.Current.CancellationToken);
        Assert.Equal(expected.ToString(), await reading);
        Assert.Equal(0, output.Unsent);
        Assert.InRange(pool.FreeBlocks, 3, int.MaxValue);
    }
}

/// <summary>A connected pair on loopback; the server's side is non-blocking, as the server's sockets are.</summary>
public sealed record SocketPair(Socket Reader, Socket Server) : IDisposable
{
    public static async Task<SocketPair> OpenAsync(int bufferBytes = 0)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var reader = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (bufferBytes > 0) reader.ReceiveBufferSize = bufferBytes;
        var accepting = listener.AcceptAsync();
        await reader.ConnectAsync(listener.LocalEndPoint!);
        var server = await accepting;
        server.Blocking = false;
        if (bufferBytes > 0) server.SendBufferSize = bufferBytes;
        return new SocketPair(reader, server);
    }

    /// <summary>Reads on the client's side until `length` bytes have come.</summary>
    public async Task<string> ReadAsync(int length)
    {
        var received = new MemoryStream();
        var chunk = new byte[65536];
        while (received.Length < length) received.Write(chunk, 0, await Reader.ReceiveAsync(chunk));
        return Encoding.ASCII.GetString(received.ToArray());
    }

    public void Dispose()
    {
        Reader.Dispose();
        Server.Dispose();
    }
}
