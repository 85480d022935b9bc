"""The functions of the `py` bench (test/bench/py.ts), called the same way by shoal's python kind
(`--fn test/bench/py_fns.py:NAME`) and by the ProcessPoolExecutor peer (py_pool.py): NAME(x, params).

  noop   returns None.
  busy   a pure-Python loop of params["loops"] additions (the bench calibrates it to ~1 ms).
  mmff   one conformer of a SMILES: hydrogens added, embedded with ETKDG (params["seed"]),
         MMFF94-optimised; returns the heavy-atom count, MMFFOptimizeMolecule's code and the energy.
"""


def noop(x, params):
    return None


def busy(x, params):
    s = 0
    for i in range(params["loops"]):
        s += i
    return s & 1


def mmff(record, params):
    from rdkit import Chem
    from rdkit.Chem import AllChem

    smiles = record["smiles"] if isinstance(record, dict) else record
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    embed = AllChem.ETKDGv3()
    embed.randomSeed = params["seed"]
    if AllChem.EmbedMolecule(mol, embed) != 0:
        raise ValueError(f"ETKDG could not embed {smiles}")
    code = AllChem.MMFFOptimizeMolecule(mol, maxIters=params.get("maxIters", 200))
    props = AllChem.MMFFGetMoleculeProperties(mol)
    energy = AllChem.MMFFGetMoleculeForceField(mol, props).CalcEnergy()
    return {"heavy": mol.GetNumHeavyAtoms(), "converged": code == 0, "energy": round(energy, 4)}
