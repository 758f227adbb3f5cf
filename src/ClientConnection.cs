// src/ClientConnection.cs: the client's connection to the server, made again on demand after it is lost.
//
// It sends one request line and reads one whole reply with Protocol.cs's ReplyReader; it tells a lost server
// apart from a live one before sending, and puts socket failures in a user's words.

using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace KV;

public sealed class ClientConnection(string host, int port) : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(4);
    private NetworkStream? stream;
    private ReplyReader? replies;

    public bool IsConnected => stream is not null;

    /// <summary>True when the server closed an idle connection (it stopped, or timed us out) since the last reply.</summary>
    public bool ClosedByServer() => stream?.Socket is { } socket && socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;

    /// <summary>Why a connection failed, in a user's words, not the runtime's.</summary>
    public static string FailureReason(Exception e) => (e.InnerException as SocketException ?? e as SocketException)?.SocketErrorCode switch
    {
        SocketError.ConnectionReset => "the connection was reset",
        SocketError.Shutdown or SocketError.ConnectionAborted or SocketError.OperationAborted => "the server closed it",
        null when e is EndOfStreamException => "the server closed it",
        _ => e.Message,
    };

    /// <summary>Null when connected, else why not.</summary>
    public async Task<string?> TryConnectAsync()
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(host, port, timeout.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            socket.Dispose();
            return e is OperationCanceledException ? $"no answer within {ConnectTimeout.TotalSeconds:0} s" : e.Message;
        }
        stream = new NetworkStream(socket, ownsSocket: true);
        replies = new ReplyReader(PipeReader.Create(stream));
        return null;
    }

    /// <summary>Sends one request line (without its LF) and reads its reply.</summary>
    public async Task<Reply> SendAsync(byte[] line)
    {
        var request = new ArrayBufferWriter<byte>(line.Length + 1);
        LineFraming.WriteLine(request, line);
        await stream!.WriteAsync(request.WrittenMemory);
        return await replies!.ReadAsync();
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
