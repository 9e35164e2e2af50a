using ModelZoo.Torch.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Models;

public class FlopCounterTests
{
    // torchvision's published "_ops" (GFLOPS, which are GMACs of convolutions and linears) at 224x224, from the
    // IMAGENET1K_V1 weights meta of torchvision >= 0.15 (0.14.1 on Debian predates the field). Added by
    // pytorch/vision pull request #6936 "Adding FLOPs and size to model metadata"; read in pytorch/vision
    // torchvision/models/mobilenetv3.py at 2f7f558158c83c8119a02cd2446d85cd3c4c20e9 (0.217, 0.057) and in the same
    // meta of resnet.py, vgg.py and mobilenetv2.py (see each zoo/<id>/README.md).
    [Theory]
    [InlineData("resnet18", 1.814)]
    [InlineData("resnet34", 3.664)]
    [InlineData("resnet50", 4.089)]
    [InlineData("resnet101", 7.801)]
    [InlineData("resnet152", 11.514)]
    [InlineData("vgg11", 7.609)]
    [InlineData("vgg11_bn", 7.609)]
    [InlineData("vgg13", 11.308)]
    [InlineData("vgg16", 15.47)]
    [InlineData("vgg19_bn", 19.632)]
    [InlineData("mobilenet_v2", 0.301)]
    [InlineData("mobilenet_v3_large", 0.217)]
    [InlineData("mobilenet_v3_small", 0.057)]
    public void Gflops_At224_MatchTorchvisionPublishedOps(string arch, double published)
    {
        using var m = ArchitectureRegistry.Default.Create(arch);
        Math.Round(FlopCounter.Count(m, 224).Gflops, 3).ShouldBe(published);
    }

    // Exact MACs measured with forward hooks on Conv2d and Linear in Debian's torchvision 0.14.1 (torch 1.13.1),
    // input 1x3x224x224: out.numel() * in_channels/groups * kh * kw, and in_features * out_features.
    [Theory]
    [InlineData("resnet18", 1_814_073_344L)]
    [InlineData("resnet50", 4_089_184_256L)] // strided 1x1 shortcuts go through PointwiseConv
    [InlineData("mobilenet_v2", 300_774_272L)]
    [InlineData("mobilenet_v3_small", 56_510_400L)]
    [InlineData("mobilenet_v3_large", 216_589_760L)]
    public void Macs_At224_EqualTorchvisionModuleExactly(string arch, long expected)
    {
        using var m = ArchitectureRegistry.Default.Create(arch);
        FlopCounter.Count(m, 224).Macs.ShouldBe(expected);
    }

    [Fact]
    public void GroupedConvolution_CountsFanInPerGroup()
    {
        using var m = nn.Sequential(
            ("0", nn.Conv2d(8, 8, kernel_size: 3, padding: 1, groups: 8, bias: false)),
            ("1", nn.Conv2d(8, 4, kernel_size: 1, stride: 2)));
        var count = FlopCounter.Count(m, 10, 10, channels: 8);
        count.PerModule.ShouldBe([("0", 8L * 10 * 10 * 9), ("1", 4L * 5 * 5 * 8)]);
    }

    const string SmallBert = """{"vocab_size":1000,"hidden_size":64,"num_hidden_layers":3,"num_attention_heads":4,"intermediate_size":256,"max_position_embeddings":128,"type_vocab_size":2,"hidden_act":"gelu"}""";

    /// <summary>The closed form for a post-LN BERT of L tokens: per layer Q, K, V and the attention output (4·H² per
    /// token), the feed-forward pair (2·H·I per token) and the two attention products (2·L²·H); then the heads.</summary>
    [Theory]
    [InlineData("bert", 32)]
    [InlineData("bert", 128)]
    [InlineData("bert_mlm", 32)]
    public void Bert_CountsEveryLinear_TheTiedDecoder_AndTheAttentionProducts_OfOneSequence(string arch, int tokens)
    {
        long l = tokens, h = 64, i = 256, v = 1000, layers = 3, classes = 5;
        long encoder = layers * (l * (4 * h * h + 2 * h * i) + 2 * l * l * h);
        long heads = arch == "bert"
            ? h * h + h * classes              // pooler on [CLS], then the classifier
            : l * (h * h + h * v);             // transform, then the decoder tied to the embeddings, at every position
        using var m = ArchitectureRegistry.Default.Create(arch, new ArchitectureOptions((int)classes, SmallBert));
        var count = FlopCounter.Count(m, tokens);
        count.Macs.ShouldBe(encoder + heads);
        count.PerModule.Count(p => p.Module.EndsWith(".products", StringComparison.Ordinal)).ShouldBe((int)layers);
    }

    [Fact]
    public void Bert_RefusesASequenceLongerThanItsPositions()
    {
        using var m = ArchitectureRegistry.Default.Create("bert", new ArchitectureOptions(2, SmallBert));
        Should.Throw<ArgumentOutOfRangeException>(() => FlopCounter.Count(m, 129)).Message.ShouldContain("1 to 128 tokens");
    }

    [Fact]
    public void Count_LeavesTrainingModeAndHooksAsTheyWere()
    {
        using var m = ArchitectureRegistry.Default.Create("mobilenet_v3_small");
        m.train();
        var first = FlopCounter.Count(m, 64);
        m.training.ShouldBeTrue();
        FlopCounter.Count(m, 64).PerModule.Count.ShouldBe(first.PerModule.Count);
    }
}
