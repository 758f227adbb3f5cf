// tests/Harness.Servers.cs: the servers tests talk to, and the programs they build.
//
// Most tests start a KVServer inside the test process (InProcessServer: port 0, no build, no process), as
// mini-redis's tests call start_server(). What only a process can show (arguments, exit codes, signals,
// the thread-pool cap, threads and resident memory) starts the real program (ServerProcess), built once per run.

using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using KV;
using Xunit;

// Most tests wait on sockets and processes, not on the CPU: run more of them at once than the 2 cores
// xunit would allow by default (on 2 cores this took the suite from 13.3 s to 10.4 s).
[assembly: Xunit.v3.Parallelization(MaxThreads = 8)]
// The builds of the programs start with the run, beside the unit tests, not when a test first needs one.
[assembly: AssemblyFixture(typeof(ProgramBuilds))]

/// <summary>
/// The threading models, for the tests that run against each (`[MemberData(nameof(Models.All), MemberType =
/// typeof(Models))]`).
/// </summary>
public static class Models
{
    public static TheoryData<string> All => new(ThreadingModels.All.Select(model => model.Name));
}

public sealed class ProgramBuilds
{
    public ProgramBuilds() => Programs.StartBuilds();
}

public static class Programs
{
    public static readonly string Root = RepositoryRoot();
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    /// <summary>
    /// The server without its feature folders: KVServer.cs with only the core's includes (BareCoreTests).
    /// </summary>
    public const string BareCore = "the bare core";

    /// <summary>The core: the assignment. Every other folder of src/ is a feature the core never names.</summary>
    public static readonly string[] CoreFolders = ["src/protocol", "src/store", "src/server"];

    private static readonly string[] EntryFiles = ["KVServer.cs", "KVClient.cs", "bench.cs", BareCore];
    private static readonly Lazy<ConcurrentDictionary<string, Task<string>>> Builds =
        new(() => new(EntryFiles.ToDictionary(file => file, BuildAsync)));

    /// <summary>The folder that holds this file's folder (tests/), found from the path the compiler saw.</summary>
    private static string RepositoryRoot([CallerFilePath] string path = "")
        => Path.GetDirectoryName(Path.GetDirectoryName(path))!;

    /// <summary>
    /// The dll of an entry file, built once per test run. The first call starts every program's build at once
    /// (different files build side by side; only two builds of one file would fight over its cache).
    /// </summary>
    public static Task<string> DllAsync(string entryFile) => Builds.Value[entryFile];

    public static void StartBuilds() => _ = Builds.Value;

    private static async Task<string> BuildAsync(string entryFile)
    {
        var path = entryFile == BareCore ? WriteBareCore() : entryFile;
        using var build = Process.Start(StartInfo("build", path, "-t:Build", "-getProperty:TargetPath", "-nologo"))!;
        var stdout = build.StandardOutput.ReadToEndAsync();
        var stderr = build.StandardError.ReadToEndAsync();
        await build.WaitForExitAsync();
        var dll = (await stdout).Trim().Split('\n').Last().Trim();
        if (build.ExitCode != 0 || !File.Exists(dll))
            throw new InvalidOperationException($"building {entryFile} failed:\n{await stdout}\n{await stderr}");
        return dll;
    }

    /// <summary>
    /// KVServer.cs with every include of a feature folder left out, the others made absolute, in a folder of this
    /// run's own (a file-based app's includes are found from its own folder): what deleting the features leaves.
    /// </summary>
    private static string WriteBareCore()
    {
        static bool Core(string include) =>
            include == "Protocol.cs" || CoreFolders.Any(folder => include.StartsWith(folder + "/"));
        const string Include = "#:include ";
        var lines = File.ReadAllLines(Path.Combine(Root, "KVServer.cs"))
            .Where(line => !line.StartsWith(Include) || Core(line[Include.Length..].Trim()))
            .Select(line => line.StartsWith(Include) ? Include + Path.Combine(Root,
                line[Include.Length..].Trim()) : line);
        // One folder for this clone, not one a run, so that the SDK's build cache for it serves the next run too.
        var clone = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Root)))[..12];
        var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"kv-bare-core-{clone}"));
        var path = Path.Combine(folder.FullName, "KVServer.cs");
        File.WriteAllLines(path, lines);
        return path;
    }

    public static ProcessStartInfo StartInfo(params IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = Root,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        // The client's first ping waits 4 s; a loaded test run may take longer to answer it.
        info.Environment["KV_CONNECT_TIMEOUT"] = "30";
        return info;
    }

    /// <summary>The test's own cancellation, or Patience, whichever comes first.</summary>
    public static CancellationToken Timeout() =>
        CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken,
            new CancellationTokenSource(Patience).Token).Token;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public static void Signal(Process process, int signal) => Assert.Equal(0, Kill(process.Id, signal));

    public const int SIGTERM = 15, SIGINT = 2;
}

/// <summary>What a server printed, line by line, and a way to wait for lines (they arrive on another thread).</summary>
public sealed class ServerLog
{
    private sealed class Waiter(Regex pattern, int count)
    {
        public Regex Pattern => pattern;
        public int Missing = count;
        public TaskCompletionSource Seen { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly StringBuilder text = new();
    private readonly List<Waiter> waiters = [];

    public void Add(string line)
    {
        lock (text)
        {
            text.AppendLine(line);
            foreach (var waiter in waiters.Where(w => w.Pattern.IsMatch(line) && --w.Missing == 0).ToList())
            {
                waiter.Seen.TrySetResult();
                waiters.Remove(waiter);
            }
        }
    }

    public string Text { get { lock (text) return text.ToString(); } }

    /// <summary>Waits until `count` lines that match have been printed.</summary>
    public async Task ExpectAsync(string pattern, int count = 1)
    {
        var regex = new Regex(pattern);
        Waiter waiter;
        lock (text)
        {
            var missing = count - text.ToString().Split('\n').Count(regex.IsMatch);
            if (missing <= 0) return;
            waiters.Add(waiter = new Waiter(regex, missing));
        }
        try
        {
            await waiter.Seen.Task.WaitAsync(Programs.Patience, TestContext.Current.CancellationToken);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"the server printed {count - waiter.Missing} of {count} lines matching '{pattern}'; it " +
                $"printed:\n{Text[^Math.Min(Text.Length, 4000)..]}");
        }
    }
}

/// <summary>
/// A running server on a free port, in this process or in its own; a test connects to it the same way.
/// </summary>
public abstract class TestServer : IAsyncDisposable
{
    protected ServerLog Log { get; } = new();
    public abstract int Port { get; }
    public string Output => Log.Text;
    public Task ExpectOutputAsync(string pattern, int count = 1) => Log.ExpectAsync(pattern, count);
    public Task<Connection> ConnectAsync() => Connection.OpenAsync(Port);

    /// <summary>
    /// The value stored at `key`, read over a fresh connection in KV's own protocol; null when there is none.
    /// </summary>
    public async Task<string?> StoredAsync(string key)
    {
        await using var connection = await ConnectAsync();
        return await connection.AskAsync("get " + key) is Reply.Value(var value) ? value : null;
    }

    /// <summary>Opens `count` connections one after the other; disposing the group closes them all.</summary>
    public async Task<ConnectionGroup> ConnectManyAsync(int count)
    {
        var group = new ConnectionGroup(count);
        for (var i = 0; i < count; i++) group.Add(await ConnectAsync());
        return group;
    }

    public abstract ValueTask DisposeAsync();
}

/// <summary>
/// A KVServer inside the test process: `InProcessServer.Start("--max-clients", "5")`, always on a free port.
/// </summary>
public sealed class InProcessServer : TestServer
{
    private readonly CancellationTokenSource stopping = new();
    private readonly Task running;
    private readonly int port;

    private InProcessServer(ServerOptions options, TimeProvider? time = null)
    {
        Server = KVServer.Listen(options, Log.Add, time);
        port = ((IPEndPoint)Server.Endpoint).Port;
        running = Server.RunAsync(stopping.Token);
    }

    public KVServer Server { get; }
    public override int Port => port;

    /// <summary>The RESP port, when started with `--resp-port 0`.</summary>
    public int RespPort => ((IPEndPoint)Server.EndpointOf(RespRegistration.Listener)!).Port;
    public Task<RespConnection> ConnectRespAsync() => RespConnection.OpenAsync(RespPort);

    /// <summary>Options as on the command line, without the port.</summary>
    public static InProcessServer Start(params string[] options) => new(ServerOptions.Parse(["0", .. options]));

    /// <summary>A server whose keys' deadlines follow `time`: a test moves that clock instead of sleeping.</summary>
    public static InProcessServer StartWithClock(TimeProvider time,
        params string[] options) => new(ServerOptions.Parse(["0", .. options]), time);


    /// <summary>
    /// Stops it as Ctrl+C would: every client is closed. Safe to call twice (a test may stop its server early).
    /// </summary>
    public override async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        await running;
    }
}

/// <summary>
/// One in-process server shared by the tests of a class (`IClassFixture&lt;SharedServer&gt;`), with a RESP port.
/// </summary>
public sealed class SharedServer : IAsyncLifetime
{
    public InProcessServer Server { get; private set; } = null!;
    public ValueTask InitializeAsync()
    {
        Server = InProcessServer.Start("--resp-port", "0");
        return ValueTask.CompletedTask;
    }
    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

/// <summary>A real KVServer process, with everything it printed, its port, thread count and memory.</summary>
public sealed class ServerProcess : TestServer
{
    private readonly TaskCompletionSource<int> listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool disposed;

    public Process Process { get; }
    public override int Port => listening.Task.Result;

    private ServerProcess(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) => Collect(e.Data);
        process.ErrorDataReceived += (_, e) => Collect(e.Data);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("the server exited"));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    private void Collect(string? line)
    {
        if (line is null) return;
        Log.Add(line);
        if (Regex.Match(line, @"^KV server listening on \S+:(\d+) ") is { Success: true } match)
            listening.TrySetResult(int.Parse(match.Groups[1].Value));
    }

    /// <summary>Starts `KVServer [args]` (port 0 when no argument is given) without waiting for it to listen.</summary>
    public static Task<ServerProcess> LaunchAsync(params string[] args) => LaunchProgramAsync("KVServer.cs", args);

    /// <summary>The same, of another build of the server (Programs.BareCore).</summary>
    public static async Task<ServerProcess> LaunchProgramAsync(string entryFile, params string[] args) =>
        new(Process.Start(Programs.StartInfo([await Programs.DllAsync(entryFile),
            .. args.Length == 0 ? ["0"] : args]))!);

    /// <summary>Starts a server and waits for its start line.</summary>
    public static Task<ServerProcess> StartAsync(params string[] args) => StartProgramAsync("KVServer.cs", args);

    /// <summary>Starts a build of the server and waits for its start line.</summary>
    public static async Task<ServerProcess> StartProgramAsync(string entryFile, params string[] args)
    {
        var server = await LaunchProgramAsync(entryFile, args);
        try
        {
            await server.listening.Task.WaitAsync(Programs.Patience);
        }
        catch
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"the server did not start:\n{server.Output}");
        }
        return server;
    }

    public async Task<int> ExitCodeAsync(TimeSpan within)
    {
        await Process.WaitForExitAsync().WaitAsync(within);
        Process.WaitForExit(); // drains the output events
        return Process.ExitCode;
    }

    public int Threads => (int)ProcStatus("Threads");
    public long ResidentBytes => ProcStatus("VmRSS") * 1024;

    private long ProcStatus(string field) =>
        long.Parse(Regex.Match(File.ReadAllText($"/proc/{Process.Id}/status"), $@"{field}:\s+(\d+)").Groups[1].Value);

    /// <summary>Kills the server if it still runs. Safe to call twice (a test may stop its server early).</summary>
    public override async ValueTask DisposeAsync()
    {
        if (disposed) return;
        disposed = true;
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        await Process.WaitForExitAsync();
        Process.Dispose();
    }
}

/// <summary>
/// A port that stays the same while the server behind it changes: a test that "restarts" its server points the relay
/// at a new one and cuts the connections through it, as a stopped server would. No other test can take the port in
/// between, as one could if the server itself were stopped and started again on its old port.
/// </summary>
public sealed class Relay : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stopping = new();
    private readonly List<TcpClient> open = [];
    private readonly Task accepting;
    private volatile int target;

    public Relay(int targetPort)
    {
        target = targetPort;
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>New connections go to `port`; those open now are closed, as if their server had stopped.</summary>
    public void SwitchTo(int port)
    {
        target = port;
        lock (open)
        {
            foreach (var connection in open) connection.Dispose();
            open.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await listener.AcceptTcpClientAsync(stopping.Token);
                var server = new TcpClient();
                try
                {
                    await server.ConnectAsync(IPAddress.Loopback, target, stopping.Token);
                }
                catch (SocketException)
                {
                    client.Dispose();
                    server.Dispose();
                    continue;
                }
                lock (open) open.AddRange([client, server]);
                _ = PipeAsync(client, server);
                _ = PipeAsync(server, client);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>Copies one direction until either side ends, then closes both.</summary>
    private async Task PipeAsync(TcpClient from, TcpClient to)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream(), stopping.Token);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException
            or SocketException) { }
        from.Dispose();
        to.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await accepting;
        SwitchTo(0);
    }
}
