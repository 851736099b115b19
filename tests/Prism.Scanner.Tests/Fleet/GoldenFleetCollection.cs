namespace Prism.Scanner.Tests.Fleet;

/// <summary>One golden fleet for every fleet test class (built once; the classes run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class GoldenFleetCollection : ICollectionFixture<GoldenFleetFixture>
{
    public const string Name = "GoldenFleet";
}
