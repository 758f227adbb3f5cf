#!/usr/bin/env dotnet
// tests.cs: the one test command, `dotnet tests.cs` (xunit.v3); one class alone with
// `dotnet tests.cs -- -class ParserTests`. The tests themselves are in tests/, a file per subject:
//
//   ProtocolTests, StoreTests, FormatTests   unit tests of Protocol.cs and src/
//   ConnectionBufferTests                    a connection's input and output buffers
//   ThreadingTests                           which thread answers a client in each --threading model
//   WatchingTests                            monitor, stats and INFO, 50 clients' incr, the live view
//   ExpiryTests, TransactionTests, ScanTests deadlines on a clock the test moves; MULTI/EXEC/WATCH; SCAN while keys
// move

//   RespStringsTests, PubSubTests            the rest of Redis's string commands; publish and subscribe on both
// protocols

//   ServerTests                              the protocol against a KVServer in this process; the real process
//   ClientTests, TerminalTests               the real KVClient, scripted and on a pseudo-terminal
//   LineEditorTests                          the client's line editor, history and completion
//   RobustnessTests                          limits, hostile input, fuzz, memory bounds, thousands of clients
//   BenchTests, DocsTests                    bench.cs still runs; README.md and the layout stay true to the code
//   Harness.Servers, Harness.Clients         in-process and process servers, connections, the store model
//
// The tests use every part (a server runs inside the test process; the editor is fed keys directly),
// so they include all of src/.

#:include Protocol.cs
#:include src/store/*.cs
#:include src/server/*.cs
#:include src/threading/*.cs
#:include src/slabs/*.cs
#:include src/memory/*.cs
#:include src/eviction/*.cs
#:include src/push/*.cs
#:include src/monitor/*.cs
#:include src/pubsub/*.cs
#:include src/resp/*.cs
#:include src/scripting/*.cs
#:include src/types/*.cs
#:include src/client/*.cs
#:include src/client/editor/*.cs
#:include src/checking/*.cs
#:include tests/*.cs
#:package xunit.v3@4.0.2
#:package StackExchange.Redis@3.4.35
