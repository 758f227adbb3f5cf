#!/usr/bin/env dotnet
// KVServer.cs: the TCP server. `dotnet KVServer.cs [PORT]`, options after `--` (see Usage below).
//
// Three parts, one job each:
//   - the start-up: options, the thread-pool cap, the listening socket, Ctrl+C and SIGTERM;
//   - the accept loop (KvServer.RunAsync): one async handler per client, admitted up to --max-clients;
//   - the connection (KvServer.ServeAsync): a PipeReader line loop that answers every whole line in the
//     buffer, writes the replies into one output buffer and flushes once per batch.
// An idle client, or one that sent half a line, is an awaited ReadAsync: it holds no thread, only its socket.
// The commands, the parser, the replies and the store are in Protocol.cs.

#:include Protocol.cs
#:property ConcurrentGarbageCollection=false

using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using KV;

const string Usage = """
    usage: dotnet KVServer.cs [PORT]
           dotnet KVServer.cs -- [PORT] [--bind ADDR] [--max-clients N] [--max-line-bytes N] [--idle-timeout SECONDS] [--threads N]

      PORT                 TCP port to listen on (default 9000; 0 picks a free port)
      --bind ADDR          the address to listen on (default: every interface, IPv4 and IPv6)
      --max-clients N      clients connected at once; one more gets an ERROR and is closed (default 16384)
      --max-line-bytes N   longest request line; a longer one gets an ERROR and is closed (default 1048576)
      --idle-timeout S     close a client silent for S seconds (default 0: never)
      --threads N          the thread-pool cap, ThreadPool.SetMaxThreads (default max(16, 4 x cores))
      --help               this text
    """;

ServerOptions options;
try
{
    if (args is ["--help"] or ["-h"])
    {
        Console.WriteLine(Usage);
        return 0;
    }
    options = ServerOptions.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"ERROR: {e.Message} (see 'dotnet KVServer.cs -- --help')");
    return 2;
}

// The cap: SetMaxThreads refuses one below the core count (or below the minimum), so check what it says.
// The minimum (one thread a core, ready without waiting for the pool to inject more) must not exceed it.
var minimum = Math.Min(Environment.ProcessorCount, options.Threads);
if (!ThreadPool.SetMaxThreads(options.Threads, options.Threads) || !ThreadPool.SetMinThreads(minimum, minimum))
{
    Console.Error.WriteLine($"ERROR: the thread pool refused a cap of {options.Threads} threads (it must be at least the {Environment.ProcessorCount} cores)");
    return 2;
}

KvServer server;
try
{
    server = KvServer.Listen(options);
}
catch (SocketException e)
{
    var what = e.SocketErrorCode == SocketError.AddressAlreadyInUse ? $"port {options.Port} is already in use" : $"cannot listen on {options.Bind}:{options.Port}";
    Console.Error.WriteLine($"ERROR: {what} ({e.Message})");
    return 1;
}

using var stopping = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stopping.Cancel();
}
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

Console.WriteLine($"KV server listening on {server.Endpoint} ({options.Describe()})");
await server.RunAsync(stopping.Token);
Console.WriteLine("KV server stopped");
return 0;

/// <summary>The command-line options; every limit has a default here and a flag in Usage.</summary>
sealed record ServerOptions(int Port, IPAddress? Bind, int MaxClients, int MaxLineBytes, TimeSpan IdleTimeout, int Threads)
{
    public static ServerOptions Parse(string[] args)
    {
        var options = new ServerOptions(9000, null, 16_384, 1024 * 1024, TimeSpan.Zero, Math.Max(16, 4 * Environment.ProcessorCount));
        var portSeen = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--"))
            {
                options = portSeen ? throw new FormatException($"unexpected argument '{args[i]}'") : options with { Port = ParsePort(args[i]) };
                portSeen = true;
                continue;
            }
            var name = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{name} needs a value");
            int Number(int min, int max) =>
                int.TryParse(Next(), out var n) && n >= min && n <= max ? n : throw new FormatException($"invalid value '{args[i]}' for {name} (expected {min} to {max})");
            options = name switch
            {
                "--bind" => options with { Bind = IPAddress.TryParse(Next(), out var address) ? address : throw new FormatException($"invalid address '{args[i]}' for --bind") },
                "--max-clients" => options with { MaxClients = Number(1, 1_000_000) },
                "--max-line-bytes" => options with { MaxLineBytes = Number(64, 256 * 1024 * 1024) },
                "--idle-timeout" => options with { IdleTimeout = TimeSpan.FromSeconds(Number(0, 86_400)) },
                "--threads" => options with { Threads = Number(1, 32_767) },
                _ => throw new FormatException($"unknown option '{name}'"),
            };
        }
        return options;
    }

    private static int ParsePort(string text) =>
        int.TryParse(text, out var port) && port is >= 0 and <= 65535 ? port : throw new FormatException($"invalid port '{text}' (expected a number from 0 to 65535)");

    public string Describe() =>
        $"thread pool max {Threads}, max clients {MaxClients}, max line {MaxLineBytes} bytes, idle timeout {(IdleTimeout > TimeSpan.Zero ? $"{IdleTimeout.TotalSeconds} s" : "off")}";
}

/// <summary>The listening socket, the store, and every connected client.</summary>
sealed class KvServer(Socket listener, ServerOptions options)
{
    private const int FlushThresholdBytes = 64 * 1024;
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 4096, minimumReadSize: 1024, useZeroByteReads: false);
    private static readonly StreamPipeWriterOptions WriterOptions = new(minimumBufferSize: 16 * 1024);

    private readonly KeyValueStore store = new();
    private readonly TaskCompletionSource everyClientGone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int clients;

    public EndPoint Endpoint => listener.LocalEndPoint!;

    public static KvServer Listen(ServerOptions options)
    {
        var dualStack = options.Bind is null && Socket.OSSupportsIPv6;
        var address = options.Bind ?? (dualStack ? IPAddress.IPv6Any : IPAddress.Any);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (dualStack) listener.DualMode = true;
            listener.Bind(new IPEndPoint(address, options.Port));
            listener.Listen(backlog: 4096);
            return new KvServer(listener, options);
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
                    Console.WriteLine($"accept failed: {e.Message}");
                    await Task.Delay(10, CancellationToken.None);
                }
            }
        }
        if (Volatile.Read(ref clients) == 0) everyClientGone.TrySetResult();
        await Task.WhenAny(everyClientGone.Task, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
    }

    private async Task ServeAsync(Socket socket, CancellationToken stopping)
    {
        var peer = Describe(socket.RemoteEndPoint);
        var connected = Interlocked.Increment(ref clients);
        var admitted = connected <= options.MaxClients;
        var reason = "closed by the client";
        try
        {
            if (!admitted)
            {
                var refusal = Errors.TooManyClients(options.MaxClients);
                Console.WriteLine($"! {peer} refused: {refusal}");
                await RefuseAsync(socket, refusal);
                return;
            }
            Console.WriteLine($"+ {peer} connected ({Count(connected)})");
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            var input = PipeReader.Create(stream, ReaderOptions);
            var output = PipeWriter.Create(stream, WriterOptions);
            reason = await ConverseAsync(input, output, stopping);
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
            var left = Interlocked.Decrement(ref clients);
            if (admitted) Console.WriteLine($"- {peer} disconnected: {reason} ({Count(left)})");
            if (left == 0 && stopping.IsCancellationRequested) everyClientGone.TrySetResult();
        }
    }

    private static string Count(int clients) => clients == 1 ? "1 client" : $"{clients} clients";

    /// <summary>An IPv4 client of the dual-stack listener shows as 127.0.0.1:5000, not [::ffff:127.0.0.1]:5000.</summary>
    private static string Describe(EndPoint? peer) => peer switch
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

    /// <summary>The line loop. Returns why the conversation ended.</summary>
    private async Task<string> ConverseAsync(PipeReader input, PipeWriter output, CancellationToken stopping)
    {
        using var idle = options.IdleTimeout > TimeSpan.Zero ? CancellationTokenSource.CreateLinkedTokenSource(stopping) : null;
        var readToken = idle?.Token ?? stopping;
        while (true)
        {
            idle?.CancelAfter(options.IdleTimeout);
            ReadResult result;
            try
            {
                result = await input.ReadAsync(readToken);
            }
            catch (OperationCanceledException)
            {
                // Like Redis, close without a word: a line the client did not ask for would be read as the next reply.
                return stopping.IsCancellationRequested ? "the server is stopping" : $"idle for {options.IdleTimeout.TotalSeconds} s";
            }

            var buffer = result.Buffer;
            string? ending = null;
            while (ending is null && LineFraming.TryReadLine(ref buffer, out var line))
            {
                if (line.Length > options.MaxLineBytes) ending = RefuseLongLine(output);
                else if (Execute(line, output)) ending = "exit";
                if (output.UnflushedBytes > FlushThresholdBytes) await output.FlushAsync(stopping);
            }
            // No LF yet: the pipe keeps the partial line for the next read, up to the limit.
            if (ending is null && buffer.Length > options.MaxLineBytes) ending = RefuseLongLine(output);
            var partialLine = !buffer.IsEmpty;
            input.AdvanceTo(buffer.Start, buffer.End);

            if (output.UnflushedBytes > 0) await output.FlushAsync(stopping);
            if (ending is not null) return ending;
            // A last line without its LF is dropped, as Redis does: it may be a request cut short by a killed client.
            if (result.IsCompleted) return partialLine ? "closed by the client in the middle of a line" : "closed by the client";
        }
    }

    private string RefuseLongLine(PipeWriter output)
    {
        var error = Errors.LineTooLong(options.MaxLineBytes);
        ReplyWriter.Error(output, error);
        return error;
    }

    private bool Execute(ReadOnlySequence<byte> line, PipeWriter output)
    {
        if (line.IsSingleSegment) return Execute(line.FirstSpan, output);
        var length = (int)line.Length;
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            line.CopyTo(copy);
            return Execute(copy.AsSpan(0, length), output);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>Answers one request line. Returns true when the connection is to be closed (after `exit`).</summary>
    private bool Execute(ReadOnlySpan<byte> line, PipeWriter output)
    {
        var request = RequestParser.Parse(LineFraming.TrimCarriageReturn(line));
        if (request.Error is { } error)
        {
            ReplyWriter.Error(output, error);
            return false;
        }
        switch (request.Command?.Kind)
        {
            case null:
                return false;
            case CommandKind.Get:
                if (store.TryGet(request.Key, out var value)) ReplyWriter.Value(output, value.Span);
                else ReplyWriter.Error(output, Errors.NotFound(request.Key));
                return false;
            case CommandKind.Set:
                store.Set(request.Key, request.Value);
                ReplyWriter.Ok(output);
                return false;
            case CommandKind.Del:
                if (store.Remove(request.Key)) ReplyWriter.Ok(output);
                else ReplyWriter.Error(output, Errors.NotFound(request.Key));
                return false;
            case CommandKind.List:
                ReplyWriter.Keys(output, store.SortedKeys());
                return false;
            case CommandKind.Ping:
                ReplyWriter.Pong(output);
                return false;
            case CommandKind.Help:
                ReplyWriter.Help(output, request.Topic is { } topic ? [topic] : Commands.All);
                return false;
            case CommandKind.Exit:
                ReplyWriter.Bye(output);
                return true;
            default:
                throw new InvalidOperationException($"no handler for {request.Command.Kind}");
        }
    }
}
