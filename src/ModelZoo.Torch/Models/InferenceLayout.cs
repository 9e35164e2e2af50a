using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Models;

/// <summary>
/// Runs inference on the CPU in channels-last (NHWC) memory order where that is both faster and verified exact.
/// libtorch's oneDNN convolutions take NHWC directly; in the default NCHW order every convolution reorders its
/// input and output, and max-pooling walks the planes one by one. VGG inference at batch 8, 224x224, 2 threads
/// went from 0.98-1.13x PyTorch's (NCHW) time to 0.55-0.83x (`modelzoo bench models`, docs/benchmarks.md); per module
/// type, `modelzoo bench layers --arch vgg11_bn --layout nchw|auto` shows where.
/// <para>
/// Opt-in per architecture (<see cref="ZooModel.ChannelsLastInference"/>), because libtorch 2.10's channels-last <b>1x1</b> convolution on this AVX-512 CPU is
/// wrong on small maps (256->512 channels on 7x7: max abs error 35.7) and dies with SIGFPE on others (512->1024 on
/// 14x14 strided). ResNet and MobileNet are built on 1x1 convolutions, so they stay NCHW; VGG has only 3x3 ones.
/// A registry-driven test checks every architecture's output in both orders.
/// </para>
/// <para>
/// Only inference (eval mode, no autograd) on the CPU: training would take the backward kernels down the same
/// untested path, and CUDA is not measured here. TorchSharp has no <c>memory_format</c> argument; libtorch infers
/// the order from the strides, so a permuted contiguous copy is all it takes.
/// </para>
/// </summary>
public static class InferenceLayout
{
    /// <summary><c>Torch:ChannelsLastInference</c>; off means every model runs NCHW (for comparisons, or should a
    /// future libtorch get this wrong on some CPU).</summary>
    public static bool ChannelsLastEnabled { get; set; } = true;

    /// <summary>True when <paramref name="model"/> should run <paramref name="x"/> channels-last now.</summary>
    public static bool UseChannelsLast(ZooModel model, Tensor x) =>
        ChannelsLastEnabled && model.ChannelsLastInference && !model.training && !is_grad_enabled() && x.dim() == 4 && x.device_type == DeviceType.CPU;

    /// <summary>Whether inference of <paramref name="architecture"/> runs channels-last in this process (asked of a model
    /// built on the meta device, so it costs no memory); measurements record it beside their software versions.</summary>
    public static bool UsedFor(string architecture, ArchitectureRegistry? registry = null) =>
        ChannelsLastEnabled && Native.TorchRuntime.OnMeta(() => (registry ?? ArchitectureRegistry.Default).Create(architecture), m => m.ChannelsLastInference);

    /// <summary>The same values in NHWC memory order, still indexed [N, C, H, W].</summary>
    public static Tensor ToChannelsLast(Tensor x) => x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);

    /// <summary>True when <paramref name="x"/> is stored NHWC (channels vary fastest).</summary>
    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        var s = x.stride();
        var n = x.shape;
        return s[1] == 1 && s[3] == n[1] && s[2] == n[1] * n[3];
    }
}
