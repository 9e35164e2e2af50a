using ModelZoo.Core.Strategies;

namespace ModelZoo.Core.Tests.Strategies;

/// <summary>The options a launch stores with the request are read back by the worker: only options may be stored.</summary>
public class StoredOptionsRoundTripTests
{
    [Fact]
    public void MultitaskOptions_StoreOnlyTheirOptions_AndReadBackWithoutProblems()
    {
        var description = StrategyDescription.Of<MultitaskOptions>();
        var stored = StrategyOptionsReader.ToJson(new MultitaskOptions { Task2Weight = 2.5 });
        // Weights and Shares are computed arrays, not options.
        stored.ContainsKey("weights").ShouldBeFalse();
        stored.ContainsKey("shares").ShouldBeFalse();
        var (options, problems) = StrategyOptionsReader.Read(description, stored);
        problems.ShouldBeEmpty();
        ((MultitaskOptions)options!).Task2Weight.ShouldBe(2.5);
    }
}
