using Prism.Scanner.Tests.Fleet;

namespace Prism.Cli.Tests.Scan;

/// <summary>The scanner tests' guest-like fleet, built once for this assembly's CLI tests (xunit collections are per assembly).</summary>
[CollectionDefinition(GoldenFleetCollection.Name)]
public sealed class GoldenFleetCliCollection : ICollectionFixture<GoldenFleetFixture>;
