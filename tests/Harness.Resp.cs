// tests/Harness.Resp.cs: a raw RESP connection for the tests, and every RESP reply as one line of text, so
// that a test compares what the server said with what a model expects: `+OK`, `-ERR ...`, `:1`, `$value`,
// `$nil`, `*2[$a,$b]`; a raw socket read until the server closes it; and StackExchange.Redis with the harness's
// patience.

using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

/// <summary>A raw socket's side of a test: everything a server sends on it until it closes it.</summary>
public static class RawSocket
{
    public static async Task<byte[]> ReceiveUntilClosedAsync(Socket socket)
    {
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, Programs.Timeout())) > 0) received.Write(buffer, 0, read);
        return received.ToArray();
    }
}

/// <summary>
/// StackExchange.Redis against a test's server, with the harness's patience: its own default (5 s a request) is
/// shorter than a loaded test process may take to run the continuation that reads a reply.
/// </summary>
public static class RedisClient
{
    public static Task<StackExchange.Redis.ConnectionMultiplexer> ConnectAsync(int port, string options = "")
    {
        var ms = (int)Programs.Patience.TotalMilliseconds;
        return StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(
            $"localhost:{port},abortConnect=false,connectTimeout={ms},syncTimeout={ms},asyncTimeout={ms}{options}");
    }
}

public sealed class RespConnection : IAsyncDisposable
{
    private readonly NetworkStream stream;
    private readonly PipeReader input;

    private RespConnection(Socket socket)
    {
        stream = new NetworkStream(socket, ownsSocket: true);
        input = PipeReader.Create(stream);
    }

    public static async Task<RespConnection> OpenAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(IPAddress.Loopback, port, Programs.Timeout());
        return new RespConnection(socket);
    }

    /// <summary>A request as an array of bulk strings, as client libraries send it.</summary>
    public static byte[] Request(params byte[][] arguments)
    {
        var request = new List<byte>(Encoding.ASCII.GetBytes($"*{arguments.Length}\r\n"));
        foreach (var argument in arguments)
        {
            request.AddRange(Encoding.ASCII.GetBytes($"${argument.Length}\r\n"));
            request.AddRange(argument);
            request.AddRange("\r\n"u8.ToArray());
        }
        return [.. request];
    }

    public static byte[] Request(params string[] arguments)
        => Request(arguments.Select(Encoding.UTF8.GetBytes).ToArray());

    public async Task SendAsync(byte[] bytes) => await stream.WriteAsync(bytes, Programs.Timeout());
    public async Task SendAsync(string text) => await SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task<string> AskAsync(params string[] arguments)
    {
        await SendAsync(Request(arguments));
        return await ReadAsync();
    }

    /// <summary>The next whole reply, as text.</summary>
    public async Task<string> ReadAsync()
    {
        while (true)
        {
            var result = await input.ReadAsync(Programs.Timeout());
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (TryReadReply(ref reader, out var reply))
            {
                input.AdvanceTo(reader.Position);
                return reply;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) throw new EndOfStreamException("the server closed the connection");
        }
    }

    /// <summary>The next reply, a bulk string, as its exact bytes (ReadAsync decodes text).</summary>
    public async Task<byte[]> ReadBulkAsync()
    {
        while (true)
        {
            var result = await input.ReadAsync(Programs.Timeout());
            var reader = new SequenceReader<byte>(result.Buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> header, "\r\n"u8))
            {
                var length = int.Parse(Encoding.ASCII.GetString(header)[1..]);
                if (reader.Remaining >= length + 2)
                {
                    var bytes = reader.UnreadSequence.Slice(0, length).ToArray();
                    input.AdvanceTo(reader.UnreadSequence.GetPosition(length + 2));
                    return bytes;
                }
            }
            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            if (result.IsCompleted) throw new EndOfStreamException("the server closed the connection");
        }
    }

    /// <summary>True when the server has closed the connection (after any replies still unread).</summary>
    public async Task<bool> ClosedByServerAsync()
    {
        try
        {
            while (true) await ReadAsync();
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or SocketException)
        {
            return true;
        }
    }

    public static bool TryReadReply(ref SequenceReader<byte> reader, out string reply)
    {
        reply = "";
        if (!reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8)) return false;
        var text = Encoding.UTF8.GetString(line);
        switch (text[0])
        {
            case '+' or '-' or ':' or '#' or ',':
                reply = text;
                return true;
            case '$':
                var length = int.Parse(text.AsSpan(1));
                if (length < 0)
                {
                    reply = "$nil";
                    return true;
                }
                if (reader.Remaining < length + 2) return false;
                reply = "$" + Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, length));
                reader.Advance(length + 2);
                return true;
            case '_':
                reply = "_";
                return true;
            case '%':
                var pairs = int.Parse(text.AsSpan(1));
                var entries = new List<string>();
                for (var i = 0; i < 2 * pairs; i++)
                {
                    if (!TryReadReply(ref reader, out var entry)) return false;
                    entries.Add(entry);
                }
                reply = $"%{pairs}[{string.Join(',', entries)}]";
                return true;
            case '*' or '>' or '~':
                var count = int.Parse(text.AsSpan(1));
                var items = new List<string>();
                for (var i = 0; i < count; i++)
                {
                    if (!TryReadReply(ref reader, out var item)) return false;
                    items.Add(item);
                }
                reply = $"{text[0]}{count}[{string.Join(',', items)}]";
                return true;
            default:
                throw new InvalidDataException($"not a RESP reply: '{text}'");
        }
    }

    public async ValueTask DisposeAsync() => await stream.DisposeAsync();
}
