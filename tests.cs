#!/usr/bin/env dotnet
// tests.cs: the one test command, `dotnet tests.cs` (xunit.v3); one class alone with
// `dotnet tests.cs -- -class ParserTests`. The tests themselves are in tests/, a file per subject:
//
//   ProtocolTests, StoreTests, FormatTests   unit tests of Protocol.cs and src/
//   ServerTests                              the protocol against a KVServer in this process; the real process
//   ClientTests                              the real KVClient, scripted and on a pseudo-terminal
//   RobustnessTests                          limits, hostile input, fuzz, memory bounds, 10,000 clients
//   BenchTests, DocsTests                    bench.cs still runs; README.md and the layout stay true to the code
//   Harness.Servers, Harness.Clients         in-process and process servers, connections, the store model
//
// The tests include the server's parts and the formats, so that a server can run inside the test process.

#:include Protocol.cs
#:include src/KeyValueStore.cs
#:include src/ReplyReader.cs
#:include src/Formats.cs
#:include src/ServerOptions.cs
#:include src/Server.cs
#:include src/LineHandler.cs
#:include tests/*.cs
#:package xunit.v3@4.0.2
