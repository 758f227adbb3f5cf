// src/client/ClientConnection.cs: the client's connection to the server, made again on demand after it is lost.
//
// It sends one request line and reads one whole reply with src/client/ReplyReader.cs's ReplyReader; it tells a lost
// server apart from a live one before sending, and puts socket failures in a user's words.

using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text;

namespace KV;

/// <param name="password">Sent with `auth` after every connect when given (KV_PASSWORD).</param>
public sealed class ClientConnection(string host, int port, string? password = null) : IAsyncDisposable
{
    /// <summary>
    /// How long a server has to answer the first ping: 4 s, or KV_CONNECT_TIMEOUT's seconds (a loaded machine, a far
    /// server; the tests give it more, since they start many servers at once).
    /// </summary>
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("KV_CONNECT_TIMEOUT"), out var seconds) && seconds > 0
            ? seconds : 4);
    private NetworkStream? stream;
    private ReplyReader? replies;

    public bool IsConnected => stream is not null;

    /// <summary>HOST:PORT as a person writes it: an IPv6 address in brackets, as the server's log shows it.</summary>
    public string Address { get; } = host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";

    /// <summary>
    /// True when the server closed an idle connection (it stopped, or timed us out) since the last reply.
    /// </summary>
    public bool ClosedByServer() => stream?.Socket is { } socket && socket.Poll(0,
        SelectMode.SelectRead) && socket.Available == 0;

    /// <summary>Why a connection failed, in a user's words, not the runtime's.</summary>
    public static string FailureReason(Exception e) => (e.InnerException as SocketException
        ?? e as SocketException)?.SocketErrorCode switch
    {
        SocketError.ConnectionReset => "the connection was reset",
        SocketError.Shutdown or SocketError.ConnectionAborted or SocketError.OperationAborted => "the server closed it",
        null when e is EndOfStreamException => "the server closed it",
        _ => e.Message,
    };

    /// <summary>
    /// Null when connected and admitted, else what to tell the user (without "ERROR: "). A `ping` round trip
    /// confirms admission: a server that is full answers its refusal, and that refusal is the message. With a
    /// password, `auth` follows at once, on every connect and reconnect.
    /// </summary>
    public async Task<string?> TryConnectAsync()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token);
            stream = new NetworkStream(socket, ownsSocket: true);
            replies = new ReplyReader(PipeReader.Create(stream));
            await stream.WriteAsync(Framed(Encoding.ASCII.GetBytes(Commands.Of(CommandKind.Ping).Name)), timeout.Token);
            var answer = await replies.ReadAsync(timeout.Token);
            if (answer is Reply.Pong && password is not null)
            {
                var auth = Encoding.UTF8.GetBytes($"{Commands.Of(CommandKind.Auth).Name} {password}");
                await stream.WriteAsync(Framed(auth), timeout.Token);
                // A server without a password says so; that is no reason not to talk to it.
                if (await replies.ReadAsync(timeout.Token) is Reply.Error(var denied) && denied != Errors.NoPassword)
                {
                    Disconnect();
                    return $"{denied} (the password in KV_PASSWORD)";
                }
            }
            if (answer is Reply.Pong) return null;
            Disconnect();
            return answer is Reply.Error(var refusal)
                ? refusal : $"could not connect to {Address} (it is not a KV server)";
        }
        catch (Exception e)
            when (e is SocketException or OperationCanceledException or IOException or InvalidDataException)
        {
            Disconnect();
            socket.Dispose();
            var reason = e is OperationCanceledException
                ? $"no answer within {ConnectTimeout.TotalSeconds:0} s" : FailureReason(e);
            return $"could not connect to {Address} ({reason})";
        }
    }

    /// <summary>
    /// Sends one request line (without its LF) and reads its reply; a cancelled wait (Ctrl+C in `blpop`) leaves the
    /// connection unusable, for the caller to disconnect.
    /// </summary>
    public async Task<Reply> SendAsync(byte[] line, CancellationToken cancellation = default)
    {
        await stream!.WriteAsync(Framed(line), cancellation);
        return await replies!.ReadAsync(cancellation);
    }

    /// <summary>
    /// After `monitor`'s or `subscribe`'s reply: each line the server pushes goes to `show` until `stop` completes;
    /// then `stopRequest` ends the stream (`ping` for a monitor, `unsubscribe` for a subscriber), and the lines already
    /// on their way are shown until its reply, `lastLine`. An ERROR line (the client fell behind) is shown, and the
    /// server closes the connection after it.
    /// </summary>
    public async Task StreamUntilAsync(Task stop, CommandKind stopRequest, string lastLine, Action<string> show)
    {
        var writer = stream!;
        var stopping = stop.ContinueWith(_
            => writer.WriteAsync(Framed(Encoding.ASCII.GetBytes(Commands.Of(stopRequest).Name))).AsTask(),
            TaskScheduler.Default).Unwrap();
        while (await replies!.ReadLineAsync() is var line && line != lastLine)
        {
            show(line);
            if (line.StartsWith("ERROR: ", StringComparison.Ordinal)) break;
        }
        if (stop.IsCompleted) await stopping;
    }

    private static ReadOnlyMemory<byte> Framed(byte[] line)
    {
        var request = new ArrayBufferWriter<byte>(line.Length + 1);
        LineFraming.WriteLine(request, line);
        return request.WrittenMemory;
    }

    public void Disconnect()
    {
        stream?.Dispose();
        stream = null;
        replies = null;
    }

    public ValueTask DisposeAsync()
    {
        Disconnect();
        return ValueTask.CompletedTask;
    }
}
