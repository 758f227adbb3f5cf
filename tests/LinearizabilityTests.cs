// tests/LinearizabilityTests.cs: the checker itself (src/checking/), on histories written by hand whose verdict is
// known: each bad one breaks linearizability in one way (a stale read, a lost update, a torn read, a value under
// neither name), and each good one is a legal overlap that a too-strict checker would refuse.

using KV;
using Xunit;

[Collection(nameof(CpuBound))]
public class LinearizabilityTests
{
    /// <summary>An operation from its text: `Op(client, call, return, "incr x", "1")`; `multi a ; b exec` is a
    /// transaction of a and b, `eval a ; b end` a script that runs them.</summary>
    private static Operation Op(int client, long call, long returned, string request, string? reply)
    {
        var words = request.Split(' ');
        Command[] Batch() => [.. string.Join(' ', words[1..^1]).Split(" ; ").Select(part => part.Split(' '))
            .Select(parts => Command.Of(parts[0], parts[1..]))];
        var command = words[0] switch
        {
            "multi" => Command.Exec(Batch()),
            "eval" => Command.Script(Batch()),
            _ => Command.Of(words[0], words[1..]),
        };
        Assert.Equal(request, command.ToString());
        return new Operation(client, call, returned, command, reply);
    }

    private static Verdict Check(params Operation[] history) =>
        Linearizability.Check(history, TimeSpan.FromSeconds(20));

    [Fact]
    public void One_client_one_after_the_other_is_linearizable()
    {
        Assert.True(Check(Op(1, 0, 1, "set x 1", "OK"), Op(1, 2, 3, "get x", "1"), Op(1, 4, 5, "incr x", "2"),
            Op(1, 6, 7, "del x", "1"), Op(1, 8, 9, "get x", "nil")).Linearizable);
    }

    [Fact]
    public void A_read_overlapping_a_write_may_see_either_value()
    {
        Assert.True(Check(Op(1, 0, 1, "set x 1", "OK"), Op(1, 2, 10, "set x 2", "OK"), Op(2, 3, 4, "get x", "2"),
            Op(3, 5, 6, "get x", "1")).Linearizable is false, "2 then 1 cannot both be seen in that order");
        Assert.True(Check(Op(1, 0, 1, "set x 1", "OK"), Op(1, 2, 10, "set x 2", "OK"), Op(2, 3, 4, "get x", "1"),
            Op(3, 5, 6, "get x", "2")).Linearizable);
        Assert.True(Check(Op(1, 0, 1, "set x 1", "OK"), Op(1, 2, 10, "set x 2", "OK"),
            Op(2, 3, 4, "get x", "2")).Linearizable);
    }

    [Fact]
    public void A_value_nobody_wrote_is_not_linearizable()
    {
        Assert.False(Check(Op(1, 0, 1, "set x 1", "OK"), Op(2, 2, 3, "get x", "7")).Linearizable);
    }

    [Fact]
    public void A_stale_read_after_the_write_returned_is_not_linearizable()
    {
        var verdict = Check(Op(1, 0, 1, "set x 1", "OK"), Op(1, 2, 3, "set x 2", "OK"), Op(2, 4, 5, "get x", "1"));
        Assert.False(verdict.Linearizable);
        Assert.Equal("get x", Assert.Single(verdict.Stuck).Input.ToString());
    }

    [Fact]
    public void Two_increments_that_both_return_the_same_number_are_a_lost_update()
    {
        var verdict = Check(Op(1, 0, 1, "set x 0", "OK"), Op(1, 2, 6, "incr x", "1"), Op(2, 3, 7, "incr x", "1"));
        Assert.False(verdict.Linearizable);
        Assert.Contains("x=1", verdict.State!.ToString());
        Assert.Equal(["incr x"], verdict.Stuck.Select(o => o.Input.ToString()));
        Assert.Contains("none of these can come next", verdict.Explain());
    }

    [Fact]
    public void Overlapping_increments_with_distinct_results_are_linearizable_in_any_order_of_calls()
    {
        // Fifty clients' increments all overlapping, answered in an order unrelated to the order they were sent.
        var random = new Random(7);
        var results = Enumerable.Range(1, 50).OrderBy(_ => random.Next()).ToArray();
        var history = results.Select((result, client) => Op(client, client, 100 + client, "incr x", result.ToString()))
            .ToArray();
        Assert.True(Check(history).Linearizable);
    }

    [Fact]
    public void Increments_that_finished_in_order_must_count_up_in_that_order()
    {
        Assert.False(Check(Op(1, 0, 1, "incr x", "2"), Op(2, 2, 3, "incr x", "1")).Linearizable);
    }

    [Fact]
    public void A_read_that_sees_half_a_transaction_is_not_linearizable()
    {
        var exec = Op(1, 0, 10, "multi incr x ; incr y exec", "[1,1]");
        Assert.False(Check(exec, Op(2, 2, 3, "mget x y", "[1,nil]")).Linearizable);
        Assert.True(Check(exec, Op(2, 2, 3, "mget x y", "[nil,nil]")).Linearizable);
        Assert.True(Check(exec, Op(2, 2, 3, "mget x y", "[1,1]")).Linearizable);
    }

    [Fact]
    public void A_read_that_sees_half_a_script_is_not_linearizable()
    {
        var script = Op(1, 0, 10, "eval incr x ; incr y end", "[1,1]");
        Assert.False(Check(script, Op(2, 2, 3, "mget x y", "[nil,1]")).Linearizable);
        Assert.True(Check(script, Op(2, 2, 3, "mget x y", "[1,1]")).Linearizable);
    }

    [Fact]
    public void A_value_under_neither_name_during_a_rename_is_not_linearizable()
    {
        var set = Op(1, 0, 1, "set r1 5", "OK");
        var rename = Op(1, 2, 10, "rename r1 r2", "OK");
        Assert.False(Check(set, rename, Op(2, 3, 4, "mget r1 r2", "[nil,nil]")).Linearizable);
        Assert.True(Check(set, rename, Op(2, 3, 4, "mget r1 r2", "[nil,5]")).Linearizable);
        Assert.False(Check(set, rename, Op(2, 3, 4, "mget r1 r2", "[5,5]")).Linearizable);
    }

    [Fact]
    public void A_request_whose_reply_never_came_may_have_happened_or_not()
    {
        var dropped = new Operation(1, 0, Operation.Unanswered, Command.Of("set", "x", "1"), null);
        Assert.True(Check(dropped, Op(2, 5, 6, "get x", "1")).Linearizable);
        Assert.True(Check(dropped, Op(2, 5, 6, "get x", "nil")).Linearizable);
        Assert.False(Check(dropped, Op(2, 5, 6, "get x", "1"), Op(2, 7, 8, "get x", "nil")).Linearizable);
    }

    [Fact]
    public void A_request_never_answered_that_would_change_nothing_is_left_out()
    {
        // An LPOP of an empty list, its connection dropped: nothing it could do explains a failure.
        var dropped = new Operation(1, 0, Operation.Unanswered, Command.Of("lpop", "q"), null);
        Assert.True(Check(dropped, Op(2, 5, 6, "rpush q 7", "1"), Op(2, 7, 8, "lpop q", "7")).Linearizable);
        Assert.True(Check(dropped, Op(2, 5, 6, "rpush q 7", "1"), Op(2, 7, 8, "llen q", "1")).Linearizable);
        Assert.False(Check(dropped, Op(2, 5, 6, "rpush q 7", "1"), Op(2, 7, 8, "lpop q", "8")).Linearizable);
    }

    [Fact]
    public void Lists_pop_what_was_pushed_once_in_order()
    {
        Assert.True(Check(Op(1, 0, 1, "rpush q 1", "1"), Op(1, 2, 3, "lpush q 0", "2"), Op(2, 4, 5, "lpop q", "0"),
            Op(2, 6, 7, "rpop q", "1"), Op(2, 8, 9, "lpop q", "nil")).Linearizable);
        // Two clients that both took the same element: one push, two pops of it.
        Assert.False(Check(Op(1, 0, 1, "rpush q 1", "1"), Op(2, 2, 5, "lpop q", "1"), Op(3, 2, 5, "lpop q", "1"))
            .Linearizable);
        Assert.True(Check(Op(1, 0, 1, "rpush q 1", "1"), Op(2, 2, 5, "blpop q 0.01", "[q,1]"),
            Op(3, 2, 5, "blpop q 0.01", "[]")).Linearizable);
    }

    [Fact]
    public void Deadlines_are_part_of_the_state()
    {
        Assert.True(Check(Op(1, 0, 1, "set k 1", "OK"), Op(1, 2, 3, "expire k 1000", "1"), Op(2, 4, 5, "ttl k", "+"),
            Op(1, 6, 7, "set k 2", "OK"), Op(2, 8, 9, "ttl k", "-1"), Op(2, 10, 11, "expire k 0", "1"),
            Op(2, 12, 13, "ttl k", "-2")).Linearizable);
        Assert.False(Check(Op(1, 0, 1, "set k 1", "OK"), Op(1, 2, 3, "expire k 1000", "1"), Op(1, 4, 5, "incr k", "2"),
            Op(2, 6, 7, "ttl k", "-1")).Linearizable);
    }

    [Fact]
    public void Keys_never_used_together_are_judged_apart()
    {
        var history = new[]
        {
            Op(1, 0, 1, "set a 1", "OK"), Op(1, 2, 3, "set b 1", "OK"), Op(2, 0, 3, "mget c d", "[nil,nil]"),
            Op(3, 4, 5, "rename d e", "ERR"),
        };
        var groups = Linearizability.Partition(history);
        Assert.Equal(["a", "b", "c d e"], groups.Select(g => string.Join(' ', g.Keys)).Order());
        Assert.True(Check(history).Linearizable);
    }

    [Fact]
    public void A_long_history_of_a_real_counter_is_checked_at_once()
    {
        // Eight threads increment one counter under a lock, as the store does: 40,000 operations, linearizable.
        var history = new Recording();
        var counter = 0L;
        var gate = new Lock();
        Parallel.For(0, 8, client =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                var call = Recording.Now;
                long result;
                lock (gate) result = ++counter;
                history.Add(client, call, Command.Of("incr", "x"), result.ToString());
            }
        });
        Assert.True(Linearizability.Check(history.Operations, TimeSpan.FromSeconds(60)).Linearizable);
    }

    [Fact]
    public void A_long_history_with_one_lost_update_is_caught_and_shown()
    {
        var history = Enumerable.Range(1, 2_000)
            .Select(i => Op(i % 4, 10 * i, 10 * i + 15, "incr x", i.ToString())).ToList();
        history[1_200] = history[1_200] with { Output = "1200" }; // the 1,201st increment read what the 1,200th read
        var verdict = Check([.. history]);
        Assert.False(verdict.Linearizable);
        Assert.Contains(verdict.Stuck, operation => operation.Output == "1200");
    }
}

/// <summary>
/// The tests that keep both cores busy for seconds (thousands of thread switches, searches over long histories): run
/// on their own, after the others, so that they never hold up a test that waits for a reply with a deadline, as a
/// client's four seconds to connect.
/// </summary>
[CollectionDefinition(nameof(CpuBound), DisableParallelization = true)]
public class CpuBound;
