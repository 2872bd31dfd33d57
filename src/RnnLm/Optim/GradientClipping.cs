using RnnLm.Nn;

namespace RnnLm.Optim;

/// <summary>Clipping by the global gradient norm, as torch.nn.utils.clip_grad_norm_.</summary>
public static class GradientClipping
{
    /// <summary>The L2 norm of all gradients together (summed in double, in a fixed order).</summary>
    public static double GlobalNorm(IReadOnlyList<Parameter> parameters)
    {
        double sum = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var g = parameters[i].Grad.Data;
            double s = 0;
            for (int j = 0; j < g.Length; j++) s += (double)g[j] * g[j];
            sum += s;
        }
        return Math.Sqrt(sum);
    }

    /// <summary>Scales every gradient by maxNorm/(norm + 1e-6) when the norm exceeds maxNorm; returns the norm before.</summary>
    public static double ClipByGlobalNorm(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        Check.Positive(maxNorm, nameof(maxNorm));
        double norm = GlobalNorm(parameters);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
            for (int i = 0; i < parameters.Count; i++)
                System.Numerics.Tensors.TensorPrimitives.Multiply(parameters[i].Grad.Data, (float)coef, parameters[i].Grad.Data);
        return norm;
    }
}
