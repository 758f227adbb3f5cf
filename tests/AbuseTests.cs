// tests/AbuseTests.cs: what a hostile student tries against a shared server, each a way one client could hold
// the others up or keep what is not its own: a trickle of bytes, replies never read, a request never finished,
// a thousand connections guessing the password, evictions racing the end of a connection.

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using KV;
using Xunit;

public class SlowClientTests
{
    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_trickle_of_bytes_does_not_reset_the_idle_timeout(string threading)
    {
        await using var server = InProcessServer.Start("--idle-timeout", "1", "--request-timeout", "0", "--threading",
            threading);
        await using var trickle = await server.ConnectAsync();
        var closed = trickle.ClosedByServerAsync();
        // One byte of a request that never ends, every tenth of a second: never silent, never done.
        for (var sent = 0; !closed.IsCompleted && sent < 300; sent++)
        {
            try
            {
                await trickle.SendAsync("x");
            }
            catch (IOException) { }
            await Task.WhenAny(closed, Task.Delay(100, TestContext.Current.CancellationToken));
        }
        Assert.True(await closed);
        await server.ExpectOutputAsync("disconnected: idle for 1 s");
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_client_that_never_reads_its_replies_is_closed_by_the_idle_timeout(string threading)
    {
        await using var server = InProcessServer.Start("--idle-timeout", "1", "--threading", threading);
        await using var setter = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await setter.AskAsync("set big " + new string('b', 100_000)));
        await using var deaf = await server.ConnectAsync();
        await deaf.SendAsync(string.Concat(Enumerable.Repeat("get big\n", 2_000)));
        // It goes on sending, never reading: bytes that arrive while its replies wait do not make it less silent.
        using var stopSending = new CancellationTokenSource();
        var sending = Task.Run(async () =>
        {
            while (!stopSending.IsCancellationRequested)
            {
                await deaf.SendAsync("ping\n");
                await Task.Delay(100, stopSending.Token);
            }
        }, TestContext.Current.CancellationToken);
        await server.ExpectOutputAsync($@":{((IPEndPoint)deaf.Socket.LocalEndPoint!).Port} disconnected: idle for 1 s");
        await stopSending.CancelAsync();
        // The sender stops however the cancel finds it: inside its delay, refused by the closed connection, or
        // between two sends (on a loaded machine it may be there), which ends its loop without an exception.
        await sending.ContinueWith(_ => { }, TaskScheduler.Default);
        await using var fresh = await server.ConnectAsync();
        Assert.IsType<Reply.Pong>(await fresh.AskAsync("ping"));
    }

    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task A_request_not_finished_within_the_request_timeout_gets_an_error_and_is_closed(string threading)
    {
        await using var server = InProcessServer.Start("--request-timeout", "1", "--threading", threading);
        await using var slow = await server.ConnectAsync();
        Assert.IsType<Reply.Ok>(await slow.AskAsync("set k v"));
        await slow.SendAsync("set k never fini");
        Assert.Equal("request not finished within 1 s", Assert.IsType<Reply.Error>(await slow.ReadAsync()).Message);
        Assert.True(await slow.ClosedByServerAsync());
        Assert.Equal("v", await server.StoredAsync("k"));
    }
}

public class PasswordGuessingTests
{
    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Guesses_are_limited_per_address_and_another_address_is_answered_at_once(string threading)
    {
        const int guesses = 30;
        await using var server = InProcessServer.Start("--password", "right", "--threading", threading);
        await using var attackers = await server.ConnectManyAsync(guesses);
        var clock = Stopwatch.StartNew();
        var answered = 0;
        var attack = Task.WhenAll(attackers.Select(async (c, i) =>
        {
            Assert.Equal(Errors.WrongPassword, Assert.IsType<Reply.Error>(await c.AskAsync($"auth guess{i}")).Message);
            Interlocked.Increment(ref answered);
        }));

        // While the attack waits for its turns, a client from another address gives the right password.
        await using var student = await Connection.OpenAsync(server.Port, IPAddress.Parse("127.0.0.2"));
        Assert.IsType<Reply.Ok>(await student.AskAsync("auth right"));
        var answeredBeforeStudent = Volatile.Read(ref answered);
        await attack;
        var elapsed = clock.Elapsed;
        TestContext.Current.SendDiagnosticMessage($"{guesses} guesses from one address over {guesses} connections took "
            + $"{elapsed.TotalSeconds:0.00} s; {answeredBeforeStudent} were answered before the other address's auth");

        // A burst of AttemptsPerSecond, then AttemptsPerSecond a second: the rest take at least this long (a lower
        // bound: a slow machine only adds).
        var perSecond = (double)PasswordGate.AttemptsPerSecond;
        var atLeast = TimeSpan.FromSeconds((guesses - PasswordGate.AttemptsPerSecond - 1) / perSecond);
        Assert.True(elapsed >= atLeast, $"{guesses} guesses took {elapsed}, under {atLeast}");
        Assert.True(answeredBeforeStudent < guesses, "the other address waited for the attack to end");
    }

    /// <summary>A clock that moves only when told.</summary>
    private sealed class StoppedClock : TimeProvider
    {
        public long Ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => Ticks;
    }

    [Fact]
    public void An_address_gets_a_burst_of_turns_then_one_each_interval_and_never_more_than_the_longest_wait()
    {
        var clock = new StoppedClock { Ticks = TimeSpan.TicksPerDay };
        var gate = new PasswordGate("right", clock);
        var attacker = IPAddress.Parse("10.0.0.1");
        for (var i = 0; i < PasswordGate.AttemptsPerSecond; i++) Assert.Equal(TimeSpan.Zero, gate.TakeTurn(attacker));
        Assert.Equal(TimeSpan.FromMilliseconds(100), gate.TakeTurn(attacker));
        Assert.Equal(TimeSpan.FromMilliseconds(200), gate.TakeTurn(attacker));
        Assert.Equal(TimeSpan.Zero, gate.TakeTurn(IPAddress.Parse("10.0.0.2")));
        var waits = Enumerable.Range(0, 100).Select(_ => gate.TakeTurn(attacker)).ToList();
        Assert.Equal(PasswordGate.LongestWait, waits.Where(w => w is not null).Max());
        Assert.Null(waits[^1]);
        clock.Ticks += TimeSpan.TicksPerSecond * 10;
        Assert.Equal(TimeSpan.Zero, gate.TakeTurn(attacker));
    }

    [Fact]
    public async Task A_right_password_gives_its_turn_back_so_a_class_behind_one_address_is_not_slowed()
    {
        var clock = new StoppedClock { Ticks = TimeSpan.TicksPerDay };
        var gate = new PasswordGate("right", clock);
        var classroom = IPAddress.Parse("10.0.0.1");
        for (var i = 0; i < 5 * PasswordGate.AttemptsPerSecond; i++)
            Assert.Equal(AuthResult.Admitted, await gate.NewConnection(classroom).TryAsync("right"u8.ToArray(),
                knownUser: true, TestContext.Current.CancellationToken));
        Assert.Equal(TimeSpan.Zero, gate.TakeTurn(classroom));
    }
}

public class EvictionRaceTests
{
    [Theory]
    [MemberData(nameof(Models.All), MemberType = typeof(Models))]
    public async Task Connections_evicted_while_they_wait_are_each_ended_once_and_the_count_is_zero(string threading)
    {
        await using var server = InProcessServer.Start("--max-client-memory", "8mb", "--threading", threading);
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'x');
        await using (var clients = await server.ConnectManyAsync(500))
        {
            await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = 16,
                CancellationToken = Programs.Timeout() }, async (client, _) =>
            {
                try
                {
                    for (var sent = 0; sent < 8; sent++) await client.SendAsync(chunk);
                }
                catch (IOException) { }
            });
            await server.ExpectOutputAsync(@"disconnected: client memory limit reached", count: 250);
        }
        await server.ExpectOutputAsync(" disconnected: ", count: 500);
        // Every connection ended exactly once: 500 ends of 500 different peers, none of them an error of ours.
        var ends = server.Output.Split('\n').Where(l => l.Contains(" disconnected: ")).ToList();
        Assert.Equal(500, ends.Select(l => l[..l.IndexOf(' ', 2)]).Distinct().Count());
        Assert.DoesNotContain(ends, l => l.Contains("internal error") || l.Contains("disposed") || l.Contains("(-"));
        Assert.Equal(0, server.Server.ConnectedClients);
    }
}

public class StuckOutputTests
{
    [Fact]
    public async Task A_standard_output_nobody_reads_holds_no_request_up_and_stop_still_exits()
    {
        // The server's output goes to a pipe this test reads up to the start line and then never again.
        using var process = Process.Start(Programs.StartInfo(await Programs.DllAsync("KVServer.cs"), "0", "--bind",
            "127.0.0.1"))!;
        try
        {
            _ = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            string? line;
            do line = await process.StandardOutput.ReadLineAsync(Programs.Timeout());
            while (line is not null && !line.StartsWith("KV server listening on "));
            var port = int.Parse(System.Text.RegularExpressions.Regex.Match(line!, @":(\d+) ").Groups[1].Value);

            // Each client logs two lines: far more than a pipe holds (64 KiB) once they have all come and gone.
            for (var i = 0; i < 2_000; i++)
            {
                await using var client = await Connection.OpenAsync(port);
                Assert.IsType<Reply.Pong>(await client.AskAsync("ping"));
            }
            Programs.Signal(process, Programs.SIGTERM);
            await process.WaitForExitAsync(Programs.Timeout());
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }
}

public class LogQueueTests
{
    /// <summary>An output whose writes block until it is opened, as a pipe nobody reads.</summary>
    private sealed class StuckStream : MemoryStream
    {
        public readonly ManualResetEventSlim Open = new(false);
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Open.Wait();
            lock (this) base.Write(buffer);
        }
        public string Text { get { lock (this) return System.Text.Encoding.UTF8.GetString(ToArray()); } }
    }

    [Fact]
    public void Lines_past_the_queue_are_dropped_counted_and_reported_each_line_stamped_with_the_time()
    {
        var output = new StuckStream();
        var log = new LogQueue(output);
        // Three queues' worth: whatever the blocked write has taken out of the queue, most of the rest are dropped.
        const int written = 3 * LogQueue.Capacity;
        for (var i = 0; i < written; i++) log.Write($"line {i}");
        Assert.InRange(log.Dropped, LogQueue.Capacity / 2, written - LogQueue.Capacity);
        output.Open.Set();
        Assert.True(log.Close(TimeSpan.FromSeconds(30)));
        var lines = output.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, line => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ", line));
        Assert.Contains(lines,
            line => line.EndsWith($" ({log.Dropped} log lines dropped: the output did not keep up)"));
        Assert.Equal(written - log.Dropped, lines.Count(line => line.Contains(" line ")));
    }

    [Fact]
    public void Close_gives_up_at_its_deadline_when_the_output_is_stuck()
    {
        var output = new StuckStream();
        var log = new LogQueue(output);
        log.Write("never written");
        Assert.False(log.Close(TimeSpan.FromMilliseconds(200)));
        output.Open.Set();
    }
}
