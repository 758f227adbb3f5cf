// src/Server.cs: the listener. It accepts clients, admits them up to --max-clients, gives each one its own
// async conversation on the ThreadPool, logs who comes and goes, and on shutdown closes them all.
//
// It knows nothing of commands: what is said on a connection is LineHandler's job. A KVServer runs as well
// inside a test process as in KVServer.cs: `KVServer.Listen(options, log)`, then `RunAsync(stopping)`.

using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace KV;

public sealed class KVServer
{
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 4096, minimumReadSize: 1024, useZeroByteReads: false);
    private static readonly StreamPipeWriterOptions WriterOptions = new(minimumBufferSize: 16 * 1024);

    private readonly Socket listener;
    private readonly ServerOptions options;
    private readonly Action<string> log;
    private readonly LineHandler handler;
    private readonly TaskCompletionSource everyClientGone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int connected;

    private KVServer(Socket listener, ServerOptions options, Action<string> log)
    {
        this.listener = listener;
        this.options = options;
        this.log = log;
        handler = new LineHandler(new KeyValueStore(), options);
    }

    public EndPoint Endpoint => listener.LocalEndPoint!;

    /// <summary>Binds and listens (a SocketException when it cannot); `log` receives one line per event.</summary>
    public static KVServer Listen(ServerOptions options, Action<string> log)
    {
        var dualStack = options.Bind is null && Socket.OSSupportsIPv6;
        var address = options.Bind ?? (dualStack ? IPAddress.IPv6Any : IPAddress.Any);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (dualStack) listener.DualMode = true;
            listener.Bind(new IPEndPoint(address, options.Port));
            listener.Listen(backlog: 4096);
            return new KVServer(listener, options, log);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    /// <summary>Accepts until stopped, then closes every client and waits a few seconds for them to go.</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using (listener)
        {
            while (!stopping.IsCancellationRequested)
            {
                try
                {
                    var socket = await listener.AcceptAsync(stopping);
                    socket.NoDelay = true;
                    _ = ServeAsync(socket, stopping);
                }
                catch (OperationCanceledException) { }
                catch (SocketException e)
                {
                    // Out of file descriptors, or a connection reset before it was accepted: the listener goes on.
                    log($"accept failed: {e.Message}");
                    await Task.Delay(10, CancellationToken.None);
                }
            }
        }
        if (Volatile.Read(ref connected) == 0) everyClientGone.TrySetResult();
        await Task.WhenAny(everyClientGone.Task, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
    }

    /// <summary>One client, from accept to close: admission, the conversation, and why it ended.</summary>
    private async Task ServeAsync(Socket socket, CancellationToken stopping)
    {
        var peer = PeerName(socket.RemoteEndPoint);
        var count = Interlocked.Increment(ref connected);
        var admitted = count <= options.MaxClients;
        var reason = "closed by the client";
        try
        {
            if (!admitted)
            {
                var refusal = Errors.TooManyClients(options.MaxClients);
                log($"! {peer} refused: {refusal}");
                await RefuseAsync(socket, refusal);
                return;
            }
            log($"+ {peer} connected ({ClientCount(count)})");
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            reason = await handler.ConverseAsync(PipeReader.Create(stream, ReaderOptions), PipeWriter.Create(stream, WriterOptions), stopping);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            reason = e.InnerException?.Message ?? e.Message;
        }
        catch (Exception e)
        {
            // A bug of ours: it costs this one connection, never the server.
            reason = $"internal error: {e.GetType().Name}: {e.Message}";
        }
        finally
        {
            socket.Dispose();
            var left = Interlocked.Decrement(ref connected);
            if (admitted) log($"- {peer} disconnected: {reason} ({ClientCount(left)})");
            if (left == 0 && stopping.IsCancellationRequested) everyClientGone.TrySetResult();
        }
    }

    private static string ClientCount(int count) => count == 1 ? "1 client" : $"{count} clients";

    /// <summary>An IPv4 client of the dual-stack listener shows as 127.0.0.1:5000, not [::ffff:127.0.0.1]:5000.</summary>
    private static string PeerName(EndPoint? peer) => peer switch
    {
        IPEndPoint { Address.IsIPv4MappedToIPv6: true } ip => new IPEndPoint(ip.Address.MapToIPv4(), ip.Port).ToString(),
        null => "?",
        _ => peer.ToString()!,
    };

    private static async Task RefuseAsync(Socket socket, string error)
    {
        var writer = new ArrayBufferWriter<byte>();
        ReplyWriter.Error(writer, error);
        await socket.SendAsync(writer.WrittenMemory);
        socket.Shutdown(SocketShutdown.Send);
    }
}
