using ModelZoo.Torch.Probing;

namespace ModelZoo.Torch.Tests.Probing;

public class DomainGapTests
{
    /// <summary>n Gaussian rows of width dim, centred at <paramref name="shift"/> in the first dimension.</summary>
    static float[] Gaussian(int n, int dim, double shift, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * dim];
        for (int i = 0; i < x.Length; i++)
        {
            var u1 = 1 - rng.NextDouble(); var u2 = rng.NextDouble();
            x[i] = (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2) + (i % dim == 0 ? shift : 0));
        }
        return x;
    }

    [Fact]
    public void OneDistribution_ShowsNoGap()
    {
        var m = DomainGap.Measure(Gaussian(200, 8, 0, 1), Gaussian(200, 8, 0, 2), 8, seed: 3);
        m.DomainClassifierError.ShouldBeGreaterThan(0.35, "a linear classifier cannot tell two samples of one Gaussian apart");
        m.ProxyADistance.ShouldBeLessThan(0.6);
        Math.Abs(m.Mmd2).ShouldBeLessThan(0.02, "the unbiased MMD² of one distribution is about 0");
    }

    [Fact]
    public void SeparatedDistributions_ShowALargeGap_AndTheGapGrowsWithTheShift()
    {
        var near = DomainGap.Measure(Gaussian(200, 8, 0, 1), Gaussian(200, 8, 1, 2), 8, seed: 3);
        var far = DomainGap.Measure(Gaussian(200, 8, 0, 1), Gaussian(200, 8, 6, 2), 8, seed: 3);
        far.DomainClassifierError.ShouldBeLessThan(0.02);
        far.ProxyADistance.ShouldBeGreaterThan(1.9);
        near.ProxyADistance.ShouldBeGreaterThan(0.3);
        near.ProxyADistance.ShouldBeLessThan(far.ProxyADistance);
        near.Mmd2.ShouldBeGreaterThan(0.01);
        far.Mmd2.ShouldBeGreaterThan(near.Mmd2);
    }

    [Fact]
    public void TooFewExamples_AreRefused() =>
        Should.Throw<ArgumentException>(() => DomainGap.Measure(new float[3 * 4], new float[10 * 4], 4, 1)).Message.ShouldContain("at least 4");
}
