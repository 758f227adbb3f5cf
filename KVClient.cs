#!/usr/bin/env dotnet
// KVClient.cs: the interactive client. `dotnet KVClient.cs [HOST PORT]`.
//
// It reads commands from standard input, validates each one with Protocol.cs's parser before sending it
// (an invalid line prints `ERROR: ...` and is not sent), sends the line as typed, reads one reply with
// Protocol.cs's ReplyReader and prints it: plain, or as XML, JSON or YAML for `--xml|--json|--yml`.
// On a terminal it shows a banner and the prompt `KVClient> `; with standard input redirected it prints
// only each command's output, so a script's transcript is exactly its replies. `help` needs no server.

#:include Protocol.cs

using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using KV;

const string Usage = """
    usage: dotnet KVClient.cs [HOST PORT]
      HOST   the server's IP address (IPv4 or IPv6) or name (default localhost)
      PORT   the server's TCP port (default 9000)
    Give both or neither. Options for the client go after `--`: dotnet KVClient.cs -- --help
    """;

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(Usage);
    return 0;
}
if (args is not ([] or [_, _]))
{
    Console.WriteLine("ERROR: give both HOST and PORT, or neither (dotnet KVClient.cs [HOST PORT])");
    return 2;
}
var host = args is [var h, _] ? h : "localhost";
var portText = args is [_, var p] ? p : "9000";
if (!int.TryParse(portText, out var port) || port is < 1 or > 65535)
{
    Console.WriteLine($"ERROR: invalid port '{portText}' (expected a number from 1 to 65535)");
    return 2;
}

var interactive = !Console.IsInputRedirected;
var server = $"{host}:{port}";
await using var session = new Session(host, port);
if (await session.TryConnectAsync() is { } failure)
{
    Console.WriteLine($"ERROR: could not connect to {server} ({failure})");
    return 1;
}
if (interactive) Console.WriteLine($"Connected to KV server {server}. Type 'help' for the commands, 'exit' to quit.");

try
{
    return await ConverseAsync();
}
catch (IOException e)
{
    // Our own standard input or output went away (`dotnet KVClient.cs < script | head -1`): say so, once.
    Console.Error.WriteLine($"ERROR: {e.Message}");
    return 1;
}

// The loop: one line in, at most one request out, exactly one output back.
async Task<int> ConverseAsync()
{
    await foreach (var line in interactive ? TerminalLines().ToAsyncEnumerable() : RedirectedLines())
    {
        switch (Request.Parse(line))
        {
            case LineParse.Blank:
                break;
            case LineParse.Invalid(var error):
                Console.WriteLine($"ERROR: {error}");
                break;
            case LineParse.Valid({ Command.Kind: CommandKind.Help } request):
                Console.WriteLine(string.Join('\n', request.Topic is { } topic ? [topic.HelpLine] : Commands.All.Select(c => c.HelpLine)));
                break;
            case LineParse.Valid({ Command.Kind: CommandKind.Exit }) when !session.IsConnected:
                return 0;
            case LineParse.Valid(var request):
                if (session.ClosedByServer())
                {
                    session.Disconnect();
                    Console.WriteLine($"ERROR: lost the connection to {server} (the server closed it)");
                    if (!interactive) return 1;
                }
                if (!session.IsConnected)
                {
                    if (await session.TryConnectAsync() is { } again)
                    {
                        Console.WriteLine($"ERROR: could not reconnect to {server} ({again})");
                        break;
                    }
                    Console.WriteLine($"(reconnected to {server})");
                }
                Reply reply;
                try
                {
                    reply = await session.SendAsync(line);
                }
                catch (Exception e) when (e is IOException or SocketException or InvalidDataException)
                {
                    session.Disconnect();
                    if (request.Command.Kind == CommandKind.Exit) return 0;
                    Console.WriteLine($"ERROR: lost the connection to {server} ({Session.Describe(e)})");
                    if (!interactive) return 1;
                    break;
                }
                Console.WriteLine(Render(request, reply));
                if (request.Command.Kind == CommandKind.Exit) return 0;
                break;
        }
    }
    if (interactive) Console.WriteLine();
    return 0;
}

// What the user sees for each reply: the spec's "client prints" column.
static string Render(Request request, Reply reply) => reply switch
{
    Reply.Value(var value) => Formats.Value(request.Format, request.Key!, value),
    Reply.Keys(var keys) => Formats.Keys(request.Format, keys),
    Reply.Ok => "OK",
    Reply.Pong => "PONG",
    Reply.Bye => "BYE",
    Reply.Help(var lines) => string.Join('\n', lines),
    Reply.Error(var message) => $"ERROR: {message}",
    _ => $"ERROR: unexpected reply {reply}",
};

// A terminal: the prompt, and .NET's line editing.
static IEnumerable<byte[]> TerminalLines()
{
    while (true)
    {
        Console.Write("KVClient> ");
        if (Console.ReadLine() is not { } line) yield break;
        yield return Encoding.UTF8.GetBytes(line);
    }
}

// Redirected input: raw UTF-8 lines split on LF only, so a value may hold a lone CR or invalid bytes reach the parser.
static async IAsyncEnumerable<byte[]> RedirectedLines([EnumeratorCancellation] CancellationToken cancellationToken = default)
{
    var input = PipeReader.Create(Console.OpenStandardInput());
    while (true)
    {
        var result = await input.ReadAsync(cancellationToken);
        var buffer = result.Buffer;
        var lines = new List<byte[]>();
        while (LineFraming.TryReadLine(ref buffer, out var line)) lines.Add(LineFraming.CopyRequest(line));
        if (result.IsCompleted && !buffer.IsEmpty)
        {
            lines.Add(LineFraming.CopyRequest(buffer));
            buffer = buffer.Slice(buffer.End);
        }
        input.AdvanceTo(buffer.Start, buffer.End);
        foreach (var line in lines) yield return line;
        if (result.IsCompleted) yield break;
    }
}

/// <summary>One connection to the server, made again on demand after it is lost.</summary>
sealed class Session(string host, int port) : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(4);
    private NetworkStream? stream;
    private ReplyReader? replies;

    public bool IsConnected => stream is not null;

    /// <summary>True when the server closed an idle connection (it stopped, or timed us out) since the last reply.</summary>
    public bool ClosedByServer() => stream?.Socket is { } socket && socket.Poll(0, SelectMode.SelectRead) && socket.Available == 0;

    /// <summary>A failure in a user's words, not the runtime's.</summary>
    public static string Describe(Exception e) => (e.InnerException as SocketException ?? e as SocketException)?.SocketErrorCode switch
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

    public async Task<Reply> SendAsync(byte[] line)
    {
        var request = new byte[line.Length + 1];
        line.CopyTo(request, 0);
        request[^1] = (byte)'\n';
        await stream!.WriteAsync(request);
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
